package dev.eaglespark.testutil;

import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.TrainingSamples;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.FeatureExtractor;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.model.TargetModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Real stage-1 features without Spark: conversations of a sample file through stories15M's
 * template, tokenizer and forward pass, as the features stage makes them (default aux layers).
 */
public final class Stories15MFeatures {
    private Stories15MFeatures() {}

    /** The features of the first {@code n} conversations of {@code file} (under src/test/resources/data), in its order. */
    public static List<FeatureRecord> of(TargetModel stories15M, String file, int n, int maxLength) throws IOException {
        Path data = TestData.path(file);
        try (SampleSource source = new SampleSource(Stories15M.ensure(), null, maxLength, TruncationPolicy.TRUNCATE);
             InputStream in = Files.newInputStream(data)) {
            return of(stories15M, source, new ConversationReader(in, file, Stories15MFeatures::fail), n);
        }
    }

    /** The features of the first {@code n} of {@code conversations} through {@code source}, in their order. */
    public static List<FeatureRecord> of(TargetModel stories15M, SampleSource source,
                                         Iterator<Conversation> conversations, int n) {
        int[] aux = FeatureSettings.defaultAux(stories15M.config().numLayers());
        List<FeatureRecord> out = new ArrayList<>();
        TrainingSamples samples = new TrainingSamples(conversations, source.encoder(), Stories15MFeatures::fail);
        List<dev.eaglespark.data.TokenizedSample> first = new ArrayList<>();
        while (first.size() < n && samples.hasNext()) {
            first.add(samples.next());
        }
        new FeatureExtractor(stories15M, aux, 4096, n).extract(first.iterator(), Stories15MFeatures::fail)
                .forEachRemaining(out::add);
        // the extractor sorts a window by length: back to the input's order
        List<String> ids = first.stream().map(dev.eaglespark.data.TokenizedSample::id).toList();
        out.sort(java.util.Comparator.comparingInt(r -> ids.indexOf(r.id())));
        return out;
    }

    private static void fail(dev.eaglespark.data.Reject r) {
        throw new AssertionError("unexpected reject " + r);
    }
}
