package dev.eaglespark.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.Eagle3Draft;
import dev.eaglespark.draft.ExportedDraft;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.regen.StopTokens;
import dev.eaglespark.spec.AcceptanceReport;
import dev.eaglespark.spec.EagleProposer;
import dev.eaglespark.spec.Evaluation;
import dev.eaglespark.spec.SpeculativeDecoder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code eaglespark evaluate}: real speculative decoding with the target and a draft; acceptance length. */
public final class EvaluateCommand implements Command {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(Map.entry("target", true),
            Map.entry("draft", true), Map.entry("prompts", true), Map.entry("k", true), Map.entry("limit", true),
            Map.entry("max-new-tokens", true), Map.entry("max-prompt-tokens", true), Map.entry("report", true),
            Map.entry("compare-untrained", false), Map.entry("device", true));

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("target", PathKind.LOCAL, "draft", PathKind.LOCAL, "prompts", PathKind.LOCAL,
                "report", PathKind.LOCAL);
    }

    @Override
    public String name() {
        return "evaluate";
    }

    @Override
    public String summary() {
        return "speculative decoding with target and draft: acceptance length tau, per-position acceptance";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark evaluate --target DIR --draft DIR --prompts FILE [options]

                Greedy speculative decoding of each prompt: the draft proposes a chain of k tokens from
                the target's fused hidden states, one target forward verifies them, the accepted prefix
                and the target's bonus token advance. The output is the target's own greedy output;
                what is measured is tau (tokens per target forward round, bonus included, as EAGLE
                reports it), the acceptance rate of each draft position given the earlier ones, and
                the target forwards saved. Prompts: the first user turn of each conversation in FILE
                (MT-bench questions, ShareGPT, UltraChat ...), through the target's chat template.

                options:
                  --target DIR            the target model (or 'stories15M')
                  --draft DIR             an exported draft (config.json + model.safetensors)
                  --prompts FILE          conversation JSONL
                  --k N                   draft chain length (default 7)
                  --limit N               prompts to use (default 80)
                  --max-new-tokens N      tokens per prompt (default 256)
                  --max-prompt-tokens N   longer prompts are skipped and counted (default 2048)
                  --compare-untrained     also measure an untrained draft of the same shape
                  --report FILE           write the numbers as JSON
                  --device D              cpu (default) or gpu
                """;
    }

    @Override
    public int run(Args a) throws Exception {
        Path targetDir = Paths.get(ModelArg.resolve(a.required("target")));
        Path draftDir = Paths.get(a.required("draft"));
        Path promptFile = Paths.get(a.required("prompts"));
        int k = a.getInt("k", 7);
        int maxNew = a.getInt("max-new-tokens", 256);
        Device device = DumpCommand.parseDevice(a.get("device", "cpu"));
        try (TargetModel target = TargetModel.load(targetDir, device);
             SampleSource source = new SampleSource(targetDir, null, a.getInt("max-prompt-tokens", 2048),
                     TruncationPolicy.DROP);
             ExportedDraft exported = ExportedDraft.load(draftDir, target.embedWeight(), device);
             NDManager m = NDManager.newBaseManager(device)) {
            Set<Long> stops = StopTokens.of(targetDir, source.tokenizer());
            RejectCounts skipped = new RejectCounts();
            List<long[]> prompts;
            try (InputStream in = Files.newInputStream(promptFile)) {
                prompts = Evaluation.prompts(new ConversationReader(in, promptFile.toString(), skipped),
                        source.encoder(), a.getInt("limit", 80), skipped);
            }
            SpeculativeDecoder decoder = new SpeculativeDecoder(target, exported.auxIndices(), k, stops);
            Eagle3Draft draft = exported.draft();
            AcceptanceReport trained = Evaluation.run(decoder, prompts, maxNew, k,
                    p -> new EagleProposer(draft, exported.vocab(), m));
            System.out.println("trained draft:   " + trained.format());
            ObjectNode report = new ObjectMapper().createObjectNode();
            report.set("trained", trained.toJson());
            report.put("skipped_prompts", skipped.total());
            if (a.has("compare-untrained")) {
                try (DraftParams fresh = DraftParams.initialise(exported.config(), device, 0, target.embedWeight(),
                        DraftParams.vocabRows(target.lmHeadWeight(), exported.vocab(), m), false)) {
                    Eagle3Draft untrainedDraft = new Eagle3Draft(exported.config(), fresh);
                    AcceptanceReport untrained = Evaluation.run(decoder, prompts, maxNew, k,
                            p -> new EagleProposer(untrainedDraft, exported.vocab(), m));
                    System.out.println("untrained draft: " + untrained.format());
                    report.set("untrained", untrained.toJson());
                }
            }
            if (a.has("report")) {
                Files.write(Paths.get(a.get("report", null)),
                        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(report));
            }
        }
        return 0;
    }
}
