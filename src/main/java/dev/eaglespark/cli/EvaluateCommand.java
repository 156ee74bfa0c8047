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
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.regen.StopTokens;
import dev.eaglespark.spec.AcceptanceReport;
import dev.eaglespark.spec.EagleProposer;
import dev.eaglespark.spec.Evaluation;
import dev.eaglespark.spec.Proposer;
import dev.eaglespark.spec.SpeculativeDecoder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** {@code eaglespark evaluate}: real speculative decoding with the target and a draft; acceptance length. */
public final class EvaluateCommand implements LegacyCommand {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(Map.entry("target", true),
            Map.entry("draft", true), Map.entry("prompts", true), Map.entry("k", true), Map.entry("limit", true),
            Map.entry("max-new-tokens", true), Map.entry("max-prompt-tokens", true), Map.entry("report", true),
            Map.entry("compare-untrained", false), Map.entry("compare-plain", false), Map.entry("device", true));

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
                  --compare-plain         also decode every prompt with the target alone (greedy, one
                                          token per forward through its KV cache, as regenerate does)
                                          and report the wall-clock speed-up of speculative decoding
                                          (tokens/s over tokens/s; both timed after one untimed
                                          warm-up prompt each) and the prompts whose outputs differ
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
        Device device = a.get("device", "cpu", ValueTypes::device);
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
            Function<long[], Proposer> proposers = p -> new EagleProposer(draft, exported.vocab(), m);
            boolean comparePlain = a.has("compare-plain");
            if (comparePlain && !prompts.isEmpty()) { // first calls compile and, on a GPU, profile the scripts
                Evaluation.run(decoder, prompts.subList(0, 1), maxNew, k, proposers, new ArrayList<>());
            }
            List<long[]> outputs = new ArrayList<>();
            AcceptanceReport trained = Evaluation.run(decoder, prompts, maxNew, k, proposers, outputs);
            System.out.println("trained draft:   " + trained.format());
            ObjectNode report = new ObjectMapper().createObjectNode();
            report.set("trained", trained.toJson());
            report.put("skipped_prompts", skipped.total());
            if (comparePlain) {
                Generator plainDecoder = new Generator(target, stops);
                Evaluation.plain(plainDecoder, prompts.subList(0, Math.min(1, prompts.size())), maxNew);
                Evaluation.Plain plain = Evaluation.plain(plainDecoder, prompts, maxNew);
                double speedup = trained.tokensPerSecond() / plain.tokensPerSecond();
                int mismatches = plain.mismatches(outputs);
                System.out.printf("plain decoding:  %,d tokens in %.2f s, %.1f tokens/s; speculative %.1f tokens/s:"
                        + " speed-up %.3f; outputs differ on %d of %d prompts%n", plain.tokens(), plain.seconds(),
                        plain.tokensPerSecond(), trained.tokensPerSecond(), speedup, mismatches, prompts.size());
                report.putObject("plain").put("generated_tokens", plain.tokens()).put("seconds", plain.seconds())
                        .put("tokens_per_second", plain.tokensPerSecond()).put("mismatched_prompts", mismatches);
                report.put("speedup", speedup);
            }
            if (a.has("compare-untrained")) {
                try (DraftParams fresh = DraftParams.initialise(exported.config(), device, 0, target.embedWeight(),
                        DraftParams.vocabRows(target.lmHeadWeight(), exported.vocab(), m), false)) {
                    Eagle3Draft untrainedDraft = new Eagle3Draft(exported.config(), fresh);
                    AcceptanceReport untrained = Evaluation.run(decoder, prompts, maxNew, k,
                            p -> new EagleProposer(untrainedDraft, exported.vocab(), m), new ArrayList<>());
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
