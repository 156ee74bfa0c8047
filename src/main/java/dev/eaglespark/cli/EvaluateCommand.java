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
import dev.eaglespark.speculative.AcceptanceReport;
import dev.eaglespark.speculative.EagleProposer;
import dev.eaglespark.speculative.Evaluation;
import dev.eaglespark.speculative.Proposer;
import dev.eaglespark.speculative.SpeculativeDecoder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** {@code eaglespark evaluate}: real speculative decoding with the target and a draft; acceptance length. */
@CommandLine.Command(name = "evaluate",
        header = "speculative decoding with target and draft: acceptance length tau, per-position acceptance",
        customSynopsis = "usage: eaglespark evaluate --target DIR --draft DIR --prompts FILE [options]",
        description = """
                Greedy speculative decoding of each prompt: the draft proposes a chain of k tokens from
                the target's fused hidden states, one target forward verifies them, the accepted prefix
                and the target's bonus token advance. The output is the target's own greedy output;
                what is measured is tau (tokens per target forward round, bonus included, as EAGLE
                reports it), the acceptance rate of each draft position given the earlier ones, and
                the target forwards saved. Prompts: the first user turn of each conversation in FILE
                (MT-bench questions, ShareGPT, UltraChat ...), through the target's chat template.""")
public final class EvaluateCommand implements Command {
    @Option(names = "--target", paramLabel = "DIR", required = true, converter = PathKind.LocalModel.class,
            description = "the target model (or 'stories15M')")
    String targetSpec;

    @Option(names = "--draft", paramLabel = "DIR", required = true, converter = PathKind.LocalPath.class,
            description = "an exported draft (config.json + model.safetensors)")
    String draftPath;

    @Option(names = "--prompts", paramLabel = "FILE", required = true, converter = PathKind.LocalPath.class,
            description = "conversation JSONL")
    String promptsPath;

    @Option(names = "--k", paramLabel = "N", defaultValue = "7",
            description = "draft chain length (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int k;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "80",
            description = "prompts to use (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int limit;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "256",
            description = "tokens per prompt (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxNew;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", defaultValue = "2048",
            description = "longer prompts are skipped and counted (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxPrompt;

    @Option(names = "--compare-untrained", description = "also measure an untrained draft of the same shape")
    boolean compareUntrained;

    @Option(names = "--compare-plain", description = """
            also decode every prompt with the target alone (greedy, one
            token per forward through its KV cache, as regenerate does)
            and report the wall-clock speed-up of speculative decoding
            (tokens/s over tokens/s; both timed after one untimed
            warm-up prompt each) and the prompts whose outputs differ""")
    boolean comparePlain;

    @Option(names = "--report", paramLabel = "FILE", converter = PathKind.LocalPath.class,
            description = "write the numbers as JSON")
    String reportFile;

    @Option(names = "--device", paramLabel = "D", defaultValue = "cpu", description = "cpu (default) or gpu")
    Device device;

    @Override
    public int run() throws Exception {
        Path targetDir = Paths.get(ModelArg.resolve(targetSpec));
        Path draftDir = Paths.get(draftPath);
        Path promptFile = Paths.get(promptsPath);
        try (TargetModel target = TargetModel.load(targetDir, device);
             SampleSource source = new SampleSource(targetDir, null, maxPrompt,
                     TruncationPolicy.DROP);
             ExportedDraft exported = ExportedDraft.load(draftDir, target.embedWeight(), device);
             NDManager m = NDManager.newBaseManager(device)) {
            Set<Long> stops = StopTokens.of(targetDir, source.tokenizer());
            RejectCounts skipped = new RejectCounts();
            List<long[]> prompts;
            try (InputStream in = Files.newInputStream(promptFile)) {
                prompts = Evaluation.prompts(new ConversationReader(in, promptFile.toString(), skipped),
                        source.encoder(), limit, skipped);
            }
            SpeculativeDecoder decoder = new SpeculativeDecoder(target, exported.auxIndices(), k, stops);
            Eagle3Draft draft = exported.draft();
            Function<long[], Proposer> proposers = p -> new EagleProposer(draft, exported.vocab(), m);
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
            if (compareUntrained) {
                try (DraftParams fresh = DraftParams.initialise(exported.config(), device, 0, target.embedWeight(),
                        DraftParams.vocabRows(target.lmHeadWeight(), exported.vocab(), m), false)) {
                    Eagle3Draft untrainedDraft = new Eagle3Draft(exported.config(), fresh);
                    AcceptanceReport untrained = Evaluation.run(decoder, prompts, maxNew, k,
                            p -> new EagleProposer(untrainedDraft, exported.vocab(), m), new ArrayList<>());
                    System.out.println("untrained draft: " + untrained.format());
                    report.set("untrained", untrained.toJson());
                }
            }
            if (reportFile != null) {
                Files.write(Paths.get(reportFile),
                        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(report));
            }
        }
        return 0;
    }
}
