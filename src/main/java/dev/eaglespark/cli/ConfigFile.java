package dev.eaglespark.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A job config file given with {@code --config FILE}: {@code name = value} lines, {@code #}
 * comment lines, keys are option names without dashes, a flag is {@code name = true}.
 * {@code command.name} applies to that command only and beats an unprefixed {@code name}; an
 * unprefixed key applies to every command that declares it and is ignored by the others, so
 * one file serves every stage. A key no command declares is an error naming file and line.
 * Values on the command line win. Relative paths in the file are relative to the file's
 * directory (so a config runs the same from any working directory), those on the command line
 * to the working directory: both are made absolute here (see {@link PathKind}).
 */
final class ConfigFile {
    static final String OPTION = "config";
    static final String HELP = "  --config FILE          options from a job config file (name = value, or command.name = value\n"
            + "                         for one command only); options on the command line win. Relative\n"
            + "                         paths in the file are relative to the file, on the command line\n"
            + "                         to the working directory\n";

    private record Entry(int line, String command, String option, String value) {
        String key() {
            return command == null ? option : command + "." + option;
        }
    }

    private final String file;
    private final List<Entry> entries;

    private ConfigFile(String file, List<Entry> entries) {
        this.file = file;
        this.entries = entries;
    }

    /** The options cmd runs with: argv's, plus those the file named by --config adds. */
    static Args apply(String[] argv, Command cmd, List<Command> all) {
        Map<String, Boolean> declared = new HashMap<>(cmd.options());
        declared.put(OPTION, true);
        Args cli = Args.parse(argv, declared).withAbsolutePaths(cmd.paths(), Paths.get("").toAbsolutePath());
        Map<String, List<String>> file = cli.has(OPTION) ? read(cli.get(OPTION, null)).valuesFor(cmd, all) : Map.of();
        return cli.withFallbacks(file, OPTION);
    }

    static ConfigFile read(String path) {
        try {
            return parse(path, Files.readAllLines(Paths.get(path)));
        } catch (IOException e) {
            throw new UsageException("cannot read config file " + path + ": " + e);
        }
    }

    static ConfigFile parse(String file, List<String> lines) {
        List<Entry> entries = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i).strip();
            if (text.isEmpty() || text.startsWith("#")) {
                continue;
            }
            int eq = text.indexOf('=');
            if (eq <= 0) {
                throw new UsageException(file + ":" + (i + 1) + ": expected 'name = value', got '" + text + "'");
            }
            String key = text.substring(0, eq).strip();
            int dot = key.indexOf('.');
            Entry e = new Entry(i + 1, dot < 0 ? null : key.substring(0, dot), key.substring(dot + 1),
                    text.substring(eq + 1).strip());
            Integer earlier = seen.put(key, e.line());
            if (earlier != null) {
                throw new UsageException(file + ":" + e.line() + ": key '" + key + "' already set on line " + earlier);
            }
            entries.add(e);
        }
        return new ConfigFile(file, entries);
    }

    /** The option values this file gives cmd, after checking every key against every command. */
    Map<String, List<String>> valuesFor(Command cmd, List<Command> all) {
        Map<String, List<String>> general = new LinkedHashMap<>();
        Map<String, List<String>> specific = new LinkedHashMap<>();
        for (Entry e : entries) {
            check(e, all);
            boolean applies = e.command() == null ? cmd.options().containsKey(e.option()) : e.command().equals(cmd.name());
            if (applies) {
                (e.command() == null ? general : specific).put(e.option(), values(e, cmd));
            }
        }
        general.putAll(specific);
        general.values().removeIf(List::isEmpty);
        return general;
    }

    private void check(Entry e, List<Command> all) {
        if (e.command() == null) {
            if (all.stream().noneMatch(c -> c.options().containsKey(e.option()))) {
                throw error(e, "no command has an option --" + e.option());
            }
            return;
        }
        Optional<Command> owner = all.stream().filter(c -> c.name().equals(e.command())).findFirst();
        if (owner.isEmpty()) {
            throw error(e, "there is no command '" + e.command() + "'");
        }
        if (!owner.get().options().containsKey(e.option())) {
            throw error(e, "command '" + e.command() + "' has no option --" + e.option());
        }
    }

    /** A flag's value is true or false (false: not given); a list option splits at commas. */
    private List<String> values(Entry e, Command cmd) {
        if (!cmd.options().get(e.option())) {
            return switch (e.value()) {
                case "true" -> List.of("true");
                case "false" -> List.of();
                default -> throw error(e, "flag needs true or false, got '" + e.value() + "'");
            };
        }
        if (e.value().isEmpty()) {
            throw error(e, "needs a value");
        }
        List<String> items = cmd.listOptions().contains(e.option()) ? splitList(e.value()) : List.of(e.value());
        java.nio.file.Path dir = Paths.get(file).toAbsolutePath().getParent();
        return items.stream().map(v -> Args.absolutePath(e.option(), v, cmd.paths(), dir)).toList();
    }

    /** Commas separate items, except inside a Hadoop glob's {a,b} alternatives. */
    static List<String> splitList(String value) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (c == ',' && depth == 0) {
                out.add(value.substring(start, i).strip());
                start = i + 1;
            }
        }
        out.add(value.substring(start).strip());
        out.removeIf(String::isEmpty);
        return out;
    }

    private UsageException error(Entry e, String why) {
        return new UsageException(file + ":" + e.line() + ": key '" + e.key() + "': " + why);
    }
}
