#include "float_control.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
enum { FTZ = 1 << 15, DAZ = 1 << 6 };

void rnnlab_set_flush_subnormals(int on) {
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(on ? (csr | FTZ | DAZ) : (csr & ~(unsigned int)(FTZ | DAZ)));
}

int rnnlab_flushes_subnormals(void) { return (_mm_getcsr() & (FTZ | DAZ)) == (FTZ | DAZ); }

#elif defined(__aarch64__)
#include <stdint.h>
enum { FZ = 1 << 24 };

void rnnlab_set_flush_subnormals(int on) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr = on ? (fpcr | FZ) : (fpcr & ~(uint64_t)FZ);
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}

int rnnlab_flushes_subnormals(void) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr & FZ) != 0;
}

#else
void rnnlab_set_flush_subnormals(int on) { (void)on; }
int rnnlab_flushes_subnormals(void) { return 0; }
#endif
