package dev.eaglespark.train;

import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.RejectSink;
import dev.eaglespark.data.SampleEncoder;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.data.TrainingSamples;
import dev.eaglespark.features.InputPlanner;
import dev.eaglespark.features.InputSplit;
import dev.eaglespark.features.SampleSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Conversations as training input (online training): the inputs {@code features} takes (JSONL,
 * compressed, globs, any Hadoop file system), cut into splits of whole lines by
 * {@link InputPlanner}. A split is the unit of sharding ({@link DataOrder}); each rank renders
 * and tokenizes the conversations of its splits as it reaches them, with the features stage's
 * pipeline ({@link TrainingSamples}).
 *
 * <p>Positions count lines: a split of n lines is n records, whatever they turn into, so a
 * rank's position (lines consumed in the epoch) is where to resume, and splits before it are
 * skipped unread. Within a split the lines go in this order: blank ones, those that are not
 * conversations (malformed JSON, ...), then the conversations in {@link DataOrder}'s order by
 * id; a conversation that cannot be encoded (too long, one-sided, ...) yields null where it
 * stands. Rejects go to the sink as their line is consumed, in epoch 0 only (later epochs reject
 * the same records again).
 */
final class ConversationDataset implements TrainingData<TokenizedSample> {
    private final List<InputSplit> splits;
    private final org.apache.hadoop.conf.Configuration conf;
    private final SampleEncoder encoder;
    private final RejectSink rejects;

    private ConversationDataset(List<InputSplit> splits, org.apache.hadoop.conf.Configuration conf,
                                SampleEncoder encoder, RejectSink rejects) {
        this.splits = splits;
        this.conf = conf;
        this.encoder = encoder;
        this.rejects = rejects;
    }

    /** @param rejects where the first epoch's rejects go */
    static ConversationDataset open(TrainJob.OnlineInput input, org.apache.hadoop.conf.Configuration conf,
                                    SampleEncoder encoder, RejectSink rejects) throws IOException {
        return new ConversationDataset(input.splits(conf), conf, encoder, rejects);
    }

    @Override
    public int unitCount() {
        return splits.size();
    }

    @Override
    public long rows() {
        return splits.stream().mapToLong(InputSplit::lineCount).sum();
    }

    @Override
    public String describe() {
        return splits.size() + " splits of conversations, " + rows() + " lines";
    }

    @Override
    public Iterator<TokenizedSample> epoch(long seed, int epoch, int rank, int world, long skip) {
        List<Integer> order = DataOrder.units(splits.size(), seed, epoch, rank, world);
        RejectSink sink = epoch == 0 ? rejects : r -> { };
        return new Iterator<>() {
            private int unit = 0;
            private Split current;
            private long toSkip = skip;

            @Override
            public boolean hasNext() {
                while ((current == null || current.done()) && unit < order.size()) {
                    InputSplit s = splits.get(order.get(unit++));
                    if (toSkip >= s.lineCount()) {
                        toSkip -= s.lineCount(); // skipped without reading
                        continue;
                    }
                    current = read(s, seed, epoch);
                    current.next = (int) toSkip;
                    toSkip = 0;
                }
                return current != null && !current.done();
            }

            @Override
            public TokenizedSample next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return current.take(encoder, sink);
            }
        };
    }

    /** One split's lines in the epoch's order: blanks, unreadable lines, conversations. */
    private static final class Split {
        final int blanks;
        final List<Reject> unreadable;
        final List<Conversation> conversations;
        int next;

        Split(int blanks, List<Reject> unreadable, List<Conversation> conversations) {
            this.blanks = blanks;
            this.unreadable = unreadable;
            this.conversations = conversations;
        }

        boolean done() {
            return next >= blanks + unreadable.size() + conversations.size();
        }

        TokenizedSample take(SampleEncoder encoder, RejectSink sink) {
            int i = next++;
            if (i < blanks) {
                return null;
            }
            i -= blanks;
            if (i < unreadable.size()) {
                sink.reject(unreadable.get(i));
                return null;
            }
            return TrainingSamples.encode(conversations.get(i - unreadable.size()), encoder, sink);
        }
    }

    private Split read(InputSplit s, long seed, int epoch) {
        List<Reject> unreadable = new ArrayList<>();
        List<Conversation> conversations = new ArrayList<>();
        try (InputStream in = InputPlanner.open(s, conf)) {
            ConversationReader reader = SampleSource.conversations(in, s, unreadable::add);
            reader.forEachRemaining(conversations::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + s, e);
        }
        int blanks = Math.toIntExact(s.lineCount() - unreadable.size() - conversations.size());
        if (blanks < 0) {
            throw new IllegalStateException(s + " gave more records than lines");
        }
        return new Split(blanks, unreadable, DataOrder.records(conversations, Conversation::id, seed, epoch));
    }
}
