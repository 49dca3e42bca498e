// Single-precision GEMM for the reference Conv: plain C++ written so the compiler vectorizes it
// (packed panels and a register-blocked micro-kernel, GotoBLAS-style), no intrinsics, one thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace engine {

// C[m, n] = A[m, k] * B[k, n], all row-major with leading dimensions lda, ldb, ldc (in elements).
// C is overwritten. `pack` is scratch of ref_gemm_pack_floats() floats, or null to allocate.
void ref_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
              float* c, int64_t ldc, float* pack = nullptr);

// Scratch the packed panels need (floats), independent of m, n, k.
size_t ref_gemm_pack_floats();

}  // namespace engine
