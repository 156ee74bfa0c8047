package dev.eaglespark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** The --config rules, every command's help, and the job configs shipped in conf/jobs. */
class ConfigFileTest {
    @TempDir
    Path tmp;

    /** Commands that only declare options; run is never called. */
    @CommandLine.Command(name = "train")
    static final class Train implements Command {
        @Option(names = "--lr") String lr;
        @Option(names = "--steps") String steps;
        @Option(names = "--resume") boolean resume;
        @Option(names = "--features", converter = PathKind.UriPath.class) String features;
        @Option(names = "--target", converter = PathKind.UriModel.class) String target;
        @Option(names = "--report", converter = PathKind.LocalPath.class) String report;

        @Override
        public int run() {
            throw new AssertionError();
        }
    }

    @CommandLine.Command(name = "features")
    static final class Features implements Command {
        @Option(names = "--input", converter = PathKind.UriPath.class) List<String> input;
        @Option(names = "--output") String output;
        @Option(names = "--features") String features;

        @Override
        public int run() {
            throw new AssertionError();
        }
    }

    private static final List<CommandSpec> ALL = List.of(new Train().spec(), new Features().spec());

    @SuppressWarnings("unchecked")
    private <C extends Command> C apply(String text, Supplier<C> cmd, String... cli)
            throws Exception {
        Path file = tmp.resolve("job.conf");
        Files.writeString(file, text);
        String[] argv = new String[cli.length + 2];
        argv[0] = "--config";
        argv[1] = file.toString();
        System.arraycopy(cli, 0, argv, 2, cli.length);
        return (C) OptionParser.parse(argv, cmd, ALL);
    }

    private static final Supplier<Train> TRAIN = Train::new;
    private static final Supplier<Features> FEATURES = Features::new;

    @Test
    void commandLineOverridesFileAndPrefixedKeysBeatUnprefixed() throws Exception {
        String conf = "# comment\nlr = 1e-4\n\ntrain.steps = 10\nfeatures = data/feat\nresume = true\n";
        Train a = apply(conf, TRAIN, "--steps", "20");
        assertEquals("1e-4", a.lr);
        assertEquals("20", a.steps);
        assertEquals("file:" + tmp.resolve("data/feat"), a.features, "relative to the file");
        assertTrue(a.resume);
        assertEquals("3e-4", apply("lr = 1e-4\ntrain.lr = 3e-4\n", TRAIN).lr);
        assertFalse(apply("resume = false\n", TRAIN).resume);
    }

    @Test
    void pathsBecomeAbsoluteRelativeToTheFileOrTheWorkingDirectory() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        Train a = apply("features = ../feat\ntarget = stories15M\nreport = out/r.json\n", TRAIN);
        assertEquals("file:" + tmp.getParent().resolve("feat"), a.features, "a Hadoop path: a file: URI");
        assertEquals("stories15M", a.target, "the demo model keeps its name");
        assertEquals(tmp.resolve("out/r.json").toString(), a.report, "a local path stays a path");
        Train cli = apply("", TRAIN, "--features", "f/*.parquet", "--target", "hdfs:///models/m", "--report",
                "file:///tmp/r.json");
        assertEquals("file:" + cwd.resolve("f/*.parquet"), cli.features, "the command line's: cwd");
        assertEquals("hdfs:///models/m", cli.target, "a URI is kept");
        assertEquals("/tmp/r.json", cli.report);
        assertEquals("file:/data/x", ((Train) OptionParser.parse(new String[] {"--features", "/data/x"}, TRAIN, ALL))
                .features, "an absolute path is local, never the default file system's");
    }

    @Test
    void listOptionsSplitAtCommasButNotInsideGlobAlternatives() throws Exception {
        Features a = apply("input = a.jsonl, hdfs:///d/{x,y}/*.jsonl\noutput = out\nlr = 1\n", FEATURES);
        assertEquals(List.of("file:" + tmp.resolve("a.jsonl"), "hdfs:///d/{x,y}/*.jsonl"), a.input);
        Features cli = apply("input = a, b\n", FEATURES, "--input", "c");
        assertEquals(List.of("file:" + Path.of("").toAbsolutePath().resolve("c")), cli.input,
                "the command line replaces the file's list");
    }

    @Test
    void noConfigLeavesTheCommandLineAlone() {
        Train a = (Train) OptionParser.parse(new String[] {"--lr", "1", "--resume"}, TRAIN, ALL);
        assertEquals("1", a.lr);
        assertTrue(a.resume);
        assertFalse(a.steps != null || a.features != null);
    }

    @Test
    void unknownKeysAreErrorsWithFileAndLine() {
        Path file = tmp.resolve("job.conf");
        String name = file.toString();
        assertEquals(name + ":2: key 'lrr': no command has an option --lrr",
                assertThrows(UsageException.class, () -> apply("lr = 1\nlrr = 2\n", TRAIN)).getMessage());
        assertEquals(name + ":1: key 'trian.lr': there is no command 'trian'",
                assertThrows(UsageException.class, () -> apply("trian.lr = 1\n", FEATURES)).getMessage());
        assertEquals(name + ":3: key 'features.lr': command 'features' has no option --lr",
                assertThrows(UsageException.class, () -> apply("# x\n\nfeatures.lr = 1\n", TRAIN)).getMessage());
        assertEquals(name + ":1: key 'resume': flag needs true or false, got 'yes'",
                assertThrows(UsageException.class, () -> apply("resume = yes\n", TRAIN)).getMessage());
        assertTrue(assertThrows(UsageException.class, () -> apply("lr = 1\nlr = 2\n", TRAIN)).getMessage()
                .endsWith(":2: key 'lr' already set on line 1"));
        assertTrue(assertThrows(UsageException.class, () -> apply("just text\n", TRAIN)).getMessage()
                .endsWith(":1: expected 'name = value', got 'just text'"));
    }

    @Test
    void otherCommandsKeysAreIgnored() throws Exception {
        Features a = apply("lr = 1\ntrain.steps = 2\noutput = o\n", FEATURES);
        assertEquals("o", a.output);
        assertFalse(a.input != null || a.features != null);
    }

    @Test
    void badConfigExitsTwoNamingTheLine() throws Exception {
        Path file = tmp.resolve("bad.conf");
        Files.writeString(file, "steps = 1\ntrain.stepz = 2\n");
        String err = UsageErrors.of("train", "--config", file.toString());
        assertTrue(err.contains(file + ":2: key 'train.stepz'"), err);
    }

    @Test
    void everyCommandsHelpListsEveryOption() {
        for (CommandSpec c : Main.commands()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrintStream old = System.out;
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            try {
                assertEquals(0, Main.run(new String[] {c.name(), "--help"}));
            } finally {
                System.setOut(old);
            }
            String help = out.toString(StandardCharsets.UTF_8);
            assertTrue(help.contains("--config FILE"), c.name());
            assertFalse(c.optionsMap().containsKey(ConfigFile.OPTION), c.name() + " redefines --config");
            for (String option : c.options().stream().map(o -> o.longestName().substring(2)).toList()) {
                assertTrue(help.matches("(?s).*\\n\\s+--" + option + "[ =\\n].*"), c.name() + " --help lacks --" + option);
            }
        }
    }

    @Test
    void shippedJobConfigsUseOnlyRealOptions() throws Exception {
        try (var files = Files.list(Path.of("conf/jobs"))) {
            List<Path> confs = files.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
            assertEquals(3, confs.size(), confs.toString());
            for (Path p : confs) {
                ConfigFile f = ConfigFile.read(p.toString());
                for (CommandSpec c : Main.commands()) {
                    f.valuesFor(c, Main.commands());
                }
            }
        }
        // The demo writes its own prompts: regenerate reads what prompts writes, evaluate the held-out
        // openings jobs/quickstart.sh writes beside them; paths relative to the file, so from any directory.
        ConfigFile demo = ConfigFile.read("conf/jobs/demo.conf");
        Path prompts = Path.of("target/quickstart/prompts").toAbsolutePath();
        assertEquals(List.of(prompts.resolve("train.jsonl").toString()), demoValues(demo, "prompts", "output"));
        assertEquals(List.of("file:" + prompts.resolve("train.jsonl")), demoValues(demo, "regenerate", "input"));
        assertEquals(List.of(prompts.resolve("heldout.jsonl").toString()), demoValues(demo, "evaluate", "prompts"));
        assertTrue(Files.readString(Path.of("jobs/quickstart.sh")).contains(
                "--output target/quickstart/prompts/heldout.jsonl"), "quickstart.sh writes the held-out openings");
    }

    private static List<String> demoValues(ConfigFile demo, String command, String option) {
        CommandSpec c = Main.commands().stream().filter(x -> x.name().equals(command)).findFirst().orElseThrow();
        return demo.valuesFor(c, Main.commands()).get(option);
    }
}
