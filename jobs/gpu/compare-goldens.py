#!/usr/bin/env python3
"""Compares GPU dumps of stories15M (jobs/gpu/precision-check.sh writes them) with the
transformers goldens: worst relative error (max |x - ref| / max |ref| per tensor) over prompts
p0..p2, for hidden states and logits. Needs numpy.
Usage: compare-goldens.py GOLDEN.safetensors DUMP.safetensors [DUMP.safetensors ...]"""
import json
import struct
import sys

import numpy as np


def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    types = {'F32': np.float32, 'I64': np.int64}
    out = {}
    for name, v in header.items():
        if name == '__metadata__':
            continue
        s, e = v['data_offsets']
        out[name] = np.frombuffer(data[s:e], types[v['dtype']]).reshape(v['shape'])
    return out


golden = load(sys.argv[1])
for dump_path in sys.argv[2:]:
    dump = load(dump_path)
    worst_hidden = worst_logits = 0.0
    for row, p in enumerate(['p0', 'p1', 'p2']):
        t = len(golden[p + '.input_ids'])
        ref_h = golden[p + '.hidden_states']
        for layer in range(ref_h.shape[0]):
            diff = np.abs(dump['hidden_states'][layer, row, :t] - ref_h[layer]).max()
            worst_hidden = max(worst_hidden, diff / np.abs(ref_h[layer]).max())
        ref_l = golden[p + '.logits']
        worst_logits = max(worst_logits, np.abs(dump['logits'][row, :t] - ref_l).max() / np.abs(ref_l).max())
    print('%s: hidden states %.2e, logits %.2e' % (dump_path, worst_hidden, worst_logits))
