package dev.steer.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * kernels depends on the runtime core only: its class path (what {@code mvn dependency:tree -pl kernels} lists, and
 * what the GPU machine must be sent) holds none of the study layer's or the cpu backend's libraries.
 */
class KernelsClasspathTest {
    @Test
    void noStudyLayerOrCpuBackendLibraries() {
        for (String c : new String[] {
                "ai.djl.ndarray.NDArray",                 // DJL (the cpu backend)
                "ai.djl.pytorch.engine.PtEngine",         // PyTorch engine and its natives
                "ai.onnxruntime.OrtEnvironment",          // ONNX Runtime (the onnx judge)
                "org.sqlite.JDBC",                        // sqlite-jdbc (the results store)
                "org.knowm.xchart.XYChart",               // XChart (report plots)
                "com.google.gson.Gson",                   // Gson (study layer, models)
                "dev.steer.engine.store.RunStore",        // the study layer itself
                "dev.steer.engine.djl.DjlBackend",
                "dev.steer.models.LoadedModel"})
            assertThrows(ClassNotFoundException.class, () -> Class.forName(c, false, getClass().getClassLoader()), c);
    }

    @Test
    void theCoreIsThere() {
        assertDoesNotThrow(() -> Class.forName("dev.steer.engine.backend.Backend"));
        assertDoesNotThrow(() -> Class.forName("org.bytedeco.cuda.global.cudart", false, getClass().getClassLoader()));
    }
}
