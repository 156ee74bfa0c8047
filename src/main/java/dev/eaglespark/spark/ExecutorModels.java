package dev.eaglespark.spark;

import ai.djl.Device;
import dev.eaglespark.model.TargetModel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Targets loaded once per executor JVM and device and shared by every later task there:
 * loading an 8B target takes longer than many tasks run. Weights are read-only, so concurrent
 * tasks of one JVM may share a model.
 */
final class ExecutorModels {
    private static final Map<String, TargetModel> MODELS = new ConcurrentHashMap<>();

    private ExecutorModels() {}

    static TargetModel target(Path dir, Device device) {
        return MODELS.computeIfAbsent(dir.toAbsolutePath() + "@" + device, k -> TargetModel.load(dir, device));
    }
}
