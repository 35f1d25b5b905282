package dev.steer.kernels;

import static org.bytedeco.cuda.global.cudart.cuGetErrorName;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * A CUDA driver, cuBLAS or NVRTC call failed. The message names the call and the error; this is an internal
 * error (exit 1), unlike a missing driver or device, which {@link CudaDevice#open} reports as bad input.
 */
public final class CudaException extends RuntimeException {
    CudaException(String message) {
        super(message);
    }

    /** Throws unless {@code code} is CUDA_SUCCESS (0). */
    static void check(int code, String call) {
        if (code != 0) throw new CudaException(call + " failed: " + driverError(code));
    }

    static void checkBlas(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: " + blasStatus(status));
    }

    static void checkNvrtc(int result, String call) {
        if (result != 0) throw new CudaException(call + " failed: " + nvrtcResult(result));
    }

    /** The driver's name for an error code, e.g. {@code CUDA_ERROR_NO_DEVICE (100)}. */
    static String driverError(int code) {
        // cuGetErrorName writes a const char* into a one-slot array it owns the string of.
        try (PointerPointer<BytePointer> name = new PointerPointer<>(1)) {
            if (cuGetErrorName(code, name) == 0) {
                BytePointer s = name.get(BytePointer.class, 0);
                if (s != null && !s.isNull()) return s.getString() + " (" + code + ")";
            }
        } catch (RuntimeException | LinkageError ignored) {
            // fall through to the bare code
        }
        return "CUDA error " + code;
    }

    private static String blasStatus(int status) {
        try {
            BytePointer s = cublas.cublasGetStatusString(status);
            if (s != null && !s.isNull()) return s.getString() + " (" + status + ")";
        } catch (RuntimeException | LinkageError ignored) {
            // fall through to the bare code
        }
        return "cuBLAS status " + status;
    }

    private static String nvrtcResult(int result) {
        try {
            BytePointer s = nvrtc.nvrtcGetErrorString(result);
            if (s != null && !s.isNull()) return s.getString() + " (" + result + ")";
        } catch (RuntimeException | LinkageError ignored) {
            // fall through to the bare code
        }
        return "NVRTC result " + result;
    }
}
