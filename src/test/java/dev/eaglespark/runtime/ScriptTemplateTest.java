package dev.eaglespark.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Templates render every kind of value, insert a nested template at its placeholder's
 * indentation, hand section marks to the hook in order, and refuse a placeholder without a value,
 * a value without a placeholder and a key that shadows a dtype name; the rendered module runs.
 */
class ScriptTemplateTest {
    private static final ScriptTemplate METHOD = ScriptTemplate.of("template-test/method");
    private static final ScriptTemplate BLOCK = ScriptTemplate.of("template-test/block");

    private static Map<String, Object> values() {
        return new HashMap<>(Map.of("method", "forward", "factor", 0.1, "flag", true, "block", BLOCK, "step", 3,
                "offset", 1L));
    }

    @Test
    void rendersValuesBlocksAndDtypeNames() {
        String code = ScriptTemplate.methods("Scaled", values(), ScriptTemplate.COMMENTS, List.of(METHOD));
        assertEquals("""
                  def forward(self: __torch__.Scaled, x: Tensor) -> Tensor:
                    #| start
                    y = torch.mul(torch.to(x, 6), 0.10000000000000000)
                    if True:
                      y = torch.add(y, 3)
                      #| inside the block
                      y = torch.mul(y, 2.)
                    #| end
                    return torch.add(y, 1)
                """, code, "documentation lines dropped, the block at its placeholder's indentation");
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            float[] out = ScriptModule.of("Scaled", code).call(m.create(new long[] {10, 20})).toFloatArray();
            assertArrayEquals(new float[] {(1 + 3) * 2 + 1, (2 + 3) * 2 + 1}, out, 1e-6f, "the module runs");
        }
    }

    @Test
    void marksGoThroughTheHookInOrder() {
        Map<String, Object> v = values();
        v.put("class", "Marked");
        assertEquals(List.of("start", "inside the block", "end"), METHOD.marks(v));
        String code = ScriptTemplate.render(v, (i, name) -> "e" + i + " = " + i + "\nt" + i + " = e" + i,
                List.of(METHOD));
        assertTrue(code.contains("\n    e1 = 1\n    t1 = e1\n"), code); // the mark's indentation, each line
        assertTrue(code.contains("\n  e2 = 2\n  t2 = e2\n"), code);
    }

    @Test
    void aPlaceholderWithoutAValueFails() {
        Map<String, Object> v = values();
        v.remove("step");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScriptTemplate.methods("Scaled", v, ScriptTemplate.COMMENTS, List.of(METHOD)));
        assertEquals("TorchScript template template-test/block: no value for ${step}", e.getMessage());
    }

    @Test
    void aValueNoPlaceholderTakesFails() {
        Map<String, Object> v = values();
        v.put("scale", 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScriptTemplate.methods("Scaled", v, ScriptTemplate.COMMENTS, List.of(METHOD)));
        assertEquals("TorchScript templates [template-test/method]: no placeholder takes [scale]", e.getMessage());
        v.remove("scale");
        v.put("flag", false);
        v.remove("block"); // still a placeholder: missing, whatever the flag
        assertThrows(IllegalArgumentException.class,
                () -> ScriptTemplate.methods("Scaled", v, ScriptTemplate.COMMENTS, List.of(METHOD)));
    }

    @Test
    void dtypeNamesAreNotKeysAndUnknownTemplatesAreNamed() {
        Map<String, Object> v = values();
        v.put("float32", 7);
        assertThrows(IllegalArgumentException.class,
                () -> ScriptTemplate.methods("Scaled", v, ScriptTemplate.COMMENTS, List.of(METHOD)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScriptTemplate.of("template-test/none"));
        assertTrue(e.getMessage().contains("/dev/eaglespark/scripts/template-test/none.torchscript"), e.getMessage());
    }
}
