// mma.sync m16n8k32 on s8 (sm_80 and later), ldmatrix and the 16-byte cp.async, shared by the INT8 conv
// kernels (conv_int8.cu, conv_pair_int8.cu). Fragments as PTX's ISA lays them out: a[0..3] row lane / 4 (+8
// for a[1], a[3]), k bytes 4 (lane % 4) (+16 for a[2], a[3]); b[0], b[1] column lane / 4, k bytes 4 (lane %
// 4) (+16); d[e] row lane / 4 (+8 for e >= 2), column 2 (lane % 4) + e % 2.
#pragma once

#include <cstdint>

namespace engine::cuda {

// d += a x b.
__device__ __forceinline__ void mma_s8(int32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// d = a x b + c (every accumulator starting at c: kRoundMagicBits, requant_core.h's biased_acc_to_f32).
__device__ __forceinline__ void mma_s8_from(int32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1,
                                            int32_t c) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%10,%10,%10,%10};\n"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "r"(c));
}

// Four 8x8 matrices of 16-byte rows from shared memory (lanes 8 i .. 8 i + 7 give matrix i's row addresses,
// 16-byte aligned): for s8 data, r[i] of lane l is bytes 4 (l % 4) .. + 3 of matrix i's row l / 4, so
// matrices (rows 0-7, k 0-15), (rows 8-15, k 0-15), (rows 0-7, k 16-31), (rows 8-15, k 16-31) make an
// m16n8k32 A fragment.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

// L1: through L1 (.ca, kept there for the next reads of the same lines) rather than L2 only (.cg).
template <bool L1 = false>
__device__ __forceinline__ void cp_async16(uint32_t smem, const void* gmem, bool ok) {
    const int n = ok ? 16 : 0;  // 0: no read, the 16 bytes are zero-filled
    if constexpr (L1)
        asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(n));
    else
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(n));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

}  // namespace engine::cuda
