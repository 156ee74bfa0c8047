package dev.eaglespark.data;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Jinjava engine set up to render chat templates the way transformers' Jinja2 environment
 * does, as a sandbox for untrusted code: nothing outside the template can be loaded, and every
 * render is held to its {@link TemplateLimits} (see {@link RenderBudget}).
 */
final class JinjaEnvironment {
    /** Tags that load other templates: Jinjava would read them from the classpath (configuration, keys). */
    static final Set<String> LOADING_TAGS = Set.of("include", "import", "from", "extends");
    /**
     * Jinjava's own filters that Jinja2 lacks and that are risky on untrusted input: a regex
     * (catastrophic backtracking), a nested render, YAML and JSON parsers.
     */
    static final Set<String> RISKY_FILTERS = Set.of("regex_replace", "render", "fromyaml", "toyaml", "fromjson");

    private JinjaEnvironment() {}

    static Jinjava create(TemplateLimits limits) {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        LegacyOverrides python = LegacyOverrides.newBuilder()
                .withUseNaturalOperatorPrecedence(true)
                .withParseWhitespaceControlStrictly(true)
                .withUseTrimmingForNotesAndExpressions(true)
                .withKeepNullableLoopValues(true)
                .withEvaluateMapKeys(true)
                .build();
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // Off, or content holding "{{ ... }}" would be rendered again: a template injection.
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withElResolver(resolver)
                .withLegacyOverrides(python)
                .withDisabled(Map.of(Context.Library.TAG, LOADING_TAGS, Context.Library.FILTER, RISKY_FILTERS))
                // Jinjava's own limits where it has them; RenderBudget holds the rest.
                .withMaxOutputSize(limits.outputChars())
                .withMaxStringLength(limits.outputChars())
                .withMaxListSize(limits.collectionSize())
                .withMaxMapSize(limits.collectionSize())
                .withRangeLimit(limits.collectionSize())
                .withEnableRecursiveMacroCalls(true)
                .withMaxMacroRecursionDepth(limits.macroDepth())
                .withProcessors(JinjavaProcessors.newBuilder()
                        .withNodePreProcessor((node, interpreter) -> RenderBudget.current().beforeNode(interpreter))
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        // A second lock on the loading tags: no template text can be found by name at all.
        jinjava.setResourceLocator((name, encoding, interpreter) -> {
            throw new IOException("chat templates cannot load other files ('" + name + "')");
        });
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class,
                "raiseException", Object.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class,
                "strftimeNow", String.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "range", TemplateFunctions.class,
                "range", Object.class, Object[].class));
        jinjava.registerTag(new BudgetedForTag());
        JinjaFilters.all().forEach(jinjava::registerFilter);
        Context global = jinjava.getGlobalContext();
        for (Filter f : List.copyOf(global.getAllFilters())) {
            global.registerFilter(new BudgetedFilter(f));
        }
        return jinjava;
    }
}
