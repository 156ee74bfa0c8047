#!/usr/bin/env bash
# What one call of a trivial C function (libc's abs) costs from Java through the routes considered for
# reaching NCCL (docs/ALLREDUCE.md): JNA's interface mapping (what the collective uses), JNA's direct
# mapping, and JDK 17's incubating foreign-function API (which needs --add-modules jdk.incubator.foreign
# to compile and to run). Best of 7 rounds of 300,000 calls each. About 15 s.
# Usage: jobs/bench-native-calls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mvn -B -q dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$WORK/cp"
JNA=$(tr ':' '\n' < "$WORK/cp" | grep '/jna-[0-9.]*\.jar$')
cat > "$WORK/NativeCallBench.java" <<'JAVA'
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import jdk.incubator.foreign.CLinker;
import jdk.incubator.foreign.FunctionDescriptor;

public class NativeCallBench {
    public interface LibC extends Library { int abs(int x); }
    public static final class Direct { public static native int abs(int x); static { Native.register("c"); } }
    interface Call { int run() throws Throwable; }

    static double nsPerCall(Call c) throws Throwable {
        long sink = 0;
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 7; round++) {
            int n = 300_000;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) sink += c.run();
            best = Math.min(best, (System.nanoTime() - t0) / (double) n);
        }
        if (sink == 42) System.out.println();
        return best;
    }

    public static void main(String[] a) throws Throwable {
        LibC jna = Native.load("c", LibC.class);
        MethodHandle ffi = CLinker.getInstance().downcallHandle(CLinker.systemLookup().lookup("abs").get(),
                MethodType.methodType(int.class, int.class), FunctionDescriptor.of(CLinker.C_INT, CLinker.C_INT));
        System.out.printf("JNA interface mapping: %.0f ns/call%n", nsPerCall(() -> jna.abs(-7)));
        System.out.printf("JNA direct mapping:    %.0f ns/call%n", nsPerCall(() -> Direct.abs(-7)));
        System.out.printf("JDK 17 incubator FFI:  %.0f ns/call%n", nsPerCall(() -> (int) ffi.invokeExact(-7)));
    }
}
JAVA
javac -nowarn --add-modules jdk.incubator.foreign -cp "$JNA" -d "$WORK" "$WORK/NativeCallBench.java" 2>/dev/null
java --add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED -cp "$JNA:$WORK" NativeCallBench 2>/dev/null
