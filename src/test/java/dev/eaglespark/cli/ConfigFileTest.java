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
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The --config rules, every command's help, and the job configs shipped in conf/jobs. */
class ConfigFileTest {
    @TempDir
    Path tmp;

    /** A command that only declares options; run is never called. */
    private record Fake(String name, Map<String, Boolean> options, Set<String> listOptions,
                        Map<String, PathKind> paths) implements Command {
        @Override
        public String summary() {
            return name;
        }

        @Override
        public String help() {
            return name;
        }

        @Override
        public int run(Args args) {
            throw new AssertionError();
        }
    }

    private static final Fake TRAIN = new Fake("train", Map.of("lr", true, "steps", true, "resume", false,
            "features", true, "target", true, "report", true), Set.of(),
            Map.of("features", PathKind.URI, "target", PathKind.URI, "report", PathKind.LOCAL));
    private static final Fake FEATURES = new Fake("features", Map.of("input", true, "output", true,
            "features", true), Set.of("input"), Map.of());
    private static final List<Command> ALL = List.of(TRAIN, FEATURES);

    private Args apply(String text, Command cmd, String... cli) throws Exception {
        Path file = tmp.resolve("job.conf");
        Files.writeString(file, text);
        String[] argv = new String[cli.length + 2];
        argv[0] = "--config";
        argv[1] = file.toString();
        System.arraycopy(cli, 0, argv, 2, cli.length);
        return ConfigFile.apply(argv, cmd, ALL);
    }

    @Test
    void commandLineOverridesFileAndPrefixedKeysBeatUnprefixed() throws Exception {
        String conf = "# comment\nlr = 1e-4\n\ntrain.steps = 10\nfeatures = data/feat\nresume = true\n";
        Args a = apply(conf, TRAIN, "--steps", "20");
        assertEquals("1e-4", a.get("lr", null));
        assertEquals("20", a.get("steps", null));
        assertEquals("file:" + tmp.resolve("data/feat"), a.get("features", null), "relative to the file");
        assertTrue(a.has("resume"));
        assertEquals("3e-4", apply("lr = 1e-4\ntrain.lr = 3e-4\n", TRAIN).get("lr", null));
        assertEquals(0, apply("resume = false\n", TRAIN).all("resume").size());
    }

    @Test
    void pathsBecomeAbsoluteRelativeToTheFileOrTheWorkingDirectory() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        Args a = apply("features = ../feat\ntarget = stories15M\nreport = out/r.json\n", TRAIN);
        assertEquals("file:" + tmp.getParent().resolve("feat"), a.get("features", null), "a Hadoop path: a file: URI");
        assertEquals("stories15M", a.get("target", null), "the demo model keeps its name");
        assertEquals(tmp.resolve("out/r.json").toString(), a.get("report", null), "a local path stays a path");
        Args cli = apply("", TRAIN, "--features", "f/*.parquet", "--target", "hdfs:///models/m", "--report",
                "file:///tmp/r.json");
        assertEquals("file:" + cwd.resolve("f/*.parquet"), cli.get("features", null), "the command line's: cwd");
        assertEquals("hdfs:///models/m", cli.get("target", null), "a URI is kept");
        assertEquals("/tmp/r.json", cli.get("report", null));
        assertEquals("file:/data/x", ConfigFile.apply(new String[] {"--features", "/data/x"}, TRAIN, ALL)
                .get("features", null), "an absolute path is local, never the default file system's");
    }

    @Test
    void listOptionsSplitAtCommasButNotInsideGlobAlternatives() throws Exception {
        Args a = apply("input = a.jsonl, hdfs:///d/{x,y}/*.jsonl\noutput = out\nlr = 1\n", FEATURES);
        assertEquals(List.of("a.jsonl", "hdfs:///d/{x,y}/*.jsonl"), a.all("input"));
        Args cli = apply("input = a, b\n", FEATURES, "--input", "c");
        assertEquals(List.of("c"), cli.all("input"), "the command line replaces the file's list");
    }

    @Test
    void noConfigLeavesTheCommandLineAlone() {
        Args a = ConfigFile.apply(new String[] {"--lr", "1", "--resume"}, TRAIN, ALL);
        assertEquals(List.of("1"), a.all("lr"));
        assertTrue(a.has("resume"));
        assertFalse(a.has("steps") || a.has("features") || a.has("config"));
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
        Args a = apply("lr = 1\ntrain.steps = 2\noutput = o\n", FEATURES);
        assertEquals("o", a.get("output", null));
        assertFalse(a.has("lr") || a.has("steps") || a.has("input") || a.has("features") || a.has("config"));
    }

    @Test
    void badConfigExitsTwoNamingTheLine() throws Exception {
        Path file = tmp.resolve("bad.conf");
        Files.writeString(file, "steps = 1\ntrain.stepz = 2\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, Main.run(new String[] {"train", "--config", file.toString()}));
        } finally {
            System.setErr(old);
        }
        assertTrue(err.toString(StandardCharsets.UTF_8).contains(file + ":2: key 'train.stepz'"), err.toString());
    }

    @Test
    void everyCommandsHelpListsEveryOption() {
        for (Command c : Main.commands()) {
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
            assertFalse(c.options().containsKey(ConfigFile.OPTION), c.name() + " redefines --config");
            for (String option : c.options().keySet()) {
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
                for (Command c : Main.commands()) {
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
        Command c = Main.commands().stream().filter(x -> x.name().equals(command)).findFirst().orElseThrow();
        return demo.valuesFor(c, Main.commands()).get(option);
    }
}
