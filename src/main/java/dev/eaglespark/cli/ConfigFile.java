package dev.eaglespark.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A job config file given with {@code --config FILE}: {@code name = value} lines, {@code #}
 * comment lines, keys are option names without dashes, a flag is {@code name = true}.
 * {@code command.name} applies to that command only and beats an unprefixed {@code name}; an
 * unprefixed key applies to every command that declares it and is ignored by the others, so
 * one file serves every stage. A key no command declares is an error naming file and line.
 * Values on the command line win. Keys are checked against the commands' own option
 * declarations, and the file's values reach the command as {@code --name=value} arguments
 * before the command line's (see {@link OptionParser}), so the same converters and ranges
 * check both. Relative paths in the file are relative to the file's directory (so a config
 * runs the same from any working directory), those on the command line to the working
 * directory (see {@link PathKind}); a repeatable path option ({@code --input}) takes a
 * comma-separated list.
 */
final class ConfigFile {
    static final String OPTION = "--config";
    static final String HELP = """
            options from a job config file (name = value, or command.name = value
            for one command only); options on the command line win. Relative
            paths in the file are relative to the file, on the command line
            to the working directory""";

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

    /**
     * The option values this file gives cmd (option name without dashes to its values, paths
     * made absolute), after checking every key against every command.
     */
    Map<String, List<String>> valuesFor(CommandSpec cmd, List<CommandSpec> all) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        entriesFor(cmd, all).forEach((name, e) -> out.put(name, values(e, option(cmd, name))));
        out.values().removeIf(List::isEmpty);
        return out;
    }

    /** The values this file gives cmd, as arguments, for the options not in {@code given} (names without dashes). */
    List<String> args(CommandSpec cmd, List<CommandSpec> all, Set<String> given) {
        List<String> args = new ArrayList<>();
        valuesFor(cmd, all).forEach((name, values) -> {
            if (!given.contains(name)) {
                boolean flag = isFlag(option(cmd, name));
                values.forEach(v -> args.add("--" + name + (flag ? "" : "=" + v)));
            }
        });
        return args;
    }

    /** Where this file sets {@code option} for cmd, as the start of an error message, or null. */
    String origin(CommandSpec cmd, List<CommandSpec> all, String option) {
        Entry e = entriesFor(cmd, all).get(option);
        return e == null ? null : file + ":" + e.line() + ": key '" + e.key() + "'";
    }

    /** The entry that sets each option of cmd: {@code cmd.name} beats {@code name}. */
    private Map<String, Entry> entriesFor(CommandSpec cmd, List<CommandSpec> all) {
        Map<String, Entry> general = new LinkedHashMap<>();
        Map<String, Entry> specific = new LinkedHashMap<>();
        for (Entry e : entries) {
            check(e, all);
            if (e.command() == null ? option(cmd, e.option()) != null : e.command().equals(cmd.name())) {
                (e.command() == null ? general : specific).put(e.option(), e);
            }
        }
        general.putAll(specific);
        return general;
    }

    private void check(Entry e, List<CommandSpec> all) {
        if (e.command() == null) {
            if (all.stream().noneMatch(c -> option(c, e.option()) != null)) {
                throw error(e, "no command has an option --" + e.option());
            }
            return;
        }
        Optional<CommandSpec> owner = all.stream().filter(c -> c.name().equals(e.command())).findFirst();
        if (owner.isEmpty()) {
            throw error(e, "there is no command '" + e.command() + "'");
        }
        if (option(owner.get(), e.option()) == null) {
            throw error(e, "command '" + e.command() + "' has no option --" + e.option());
        }
    }

    private static OptionSpec option(CommandSpec cmd, String name) {
        return cmd.optionsMap().get("--" + name);
    }

    private static boolean isFlag(OptionSpec o) {
        return o.arity().max() == 0;
    }

    /**
     * A flag's value is true or false (false: not given); a repeatable path option splits at
     * commas; paths are made absolute against the file's directory.
     */
    private List<String> values(Entry e, OptionSpec o) {
        if (isFlag(o)) {
            return switch (e.value()) {
                case "true" -> List.of("true");
                case "false" -> List.of();
                default -> throw error(e, "flag needs true or false, got '" + e.value() + "'");
            };
        }
        if (e.value().isEmpty()) {
            throw error(e, "needs a value");
        }
        PathKind.Converter path = pathConverter(o);
        if (path == null) {
            return List.of(e.value());
        }
        Path dir = Paths.get(file).toAbsolutePath().getParent();
        List<String> items = o.isMultiValue() ? splitList(e.value()) : List.of(e.value());
        return items.stream().map(v -> path.resolve(v, dir)).toList();
    }

    private static PathKind.Converter pathConverter(OptionSpec o) {
        for (var c : o.converters()) {
            if (c instanceof PathKind.Converter p) {
                return p;
            }
        }
        return null;
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
