package dev.eaglespark.data;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import java.util.AbstractCollection;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Jinjava's {@code for}, with every iteration counted against the render's
 * {@link RenderBudget}: an empty loop body renders no node, so the node hook alone would not
 * see three nested {@code range(1000)} loops spin.
 */
final class BudgetedForTag extends ForTag {
    @Override
    public String renderForCollection(TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars,
                                      Object collection) {
        return super.renderForCollection(tagNode, interpreter, loopVars, counted(collection, interpreter));
    }

    /** The same items, in a view whose iterator charges each one; sizes are kept (loop.length, loop.last). */
    private static Object counted(Object c, JinjavaInterpreter interpreter) {
        if (c instanceof Collection<?> items) {
            return new CountedCollection(items);
        }
        if (c instanceof Map<?, ?> m) {
            // As Jinjava's loop over a map: its keys or its values, by the engine's setting.
            boolean keys = interpreter.getConfig().getLegacyOverrides().isIterateOverMapKeys();
            return new CountedCollection(keys ? m.keySet() : m.values());
        }
        if (c instanceof Object[] array) {
            return new CountedCollection(Arrays.asList(array));
        }
        if (c instanceof Iterator<?> it) {
            return new CountedIterator(it);
        }
        if (c instanceof Iterable<?> it) {
            return (Iterable<Object>) () -> new CountedIterator(it.iterator());
        }
        return c;
    }

    private static final class CountedCollection extends AbstractCollection<Object> {
        private final Collection<?> items;

        CountedCollection(Collection<?> items) {
            this.items = items;
        }

        @Override
        public Iterator<Object> iterator() {
            return new CountedIterator(items.iterator());
        }

        @Override
        public int size() {
            return items.size();
        }
    }

    private static final class CountedIterator implements Iterator<Object> {
        private final Iterator<?> it;
        private final RenderBudget budget = RenderBudget.current();

        CountedIterator(Iterator<?> it) {
            this.it = it;
        }

        @Override
        public boolean hasNext() {
            return it.hasNext();
        }

        @Override
        public Object next() {
            budget.countIteration();
            return it.next();
        }
    }
}
