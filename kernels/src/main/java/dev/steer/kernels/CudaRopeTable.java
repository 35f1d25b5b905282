package dev.steer.kernels;

import dev.steer.engine.backend.RopeTable;

/** Cosines and sines for one step: [rows = batch × steps, headDim], cos in the first half of a row, sin in the second. */
record CudaRopeTable(DeviceTensor table, int rows, int headDim) implements RopeTable {
}
