// The calling thread's floating-point control register: flush-to-zero and denormals-are-zero.
// x86-64: MXCSR bits 15 (FTZ: subnormal results become 0) and 6 (DAZ: subnormal inputs read as 0).
// arm64: FPCR.FZ (bit 24), which does both. Each thread has its own register.
#ifndef RNNLAB_FLOAT_CONTROL_H
#define RNNLAB_FLOAT_CONTROL_H

/// Sets (on != 0) or clears flush-to-zero and denormals-are-zero on the calling thread.
void rnnlab_set_flush_subnormals(int on);

/// 1 when the calling thread flushes subnormals (both bits set on x86), else 0.
int rnnlab_flushes_subnormals(void);

#endif
