package dev.steer.kernels;

import org.bytedeco.javacpp.Pointer;

/** A raw device address as a JavaCPP {@link Pointer}, for library calls that take {@code void*} device operands (cuBLAS). */
final class DeviceAddress extends Pointer {
    DeviceAddress(long address) {
        this.address = address;
    }
}
