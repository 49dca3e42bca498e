#include "engine/refmath/ref_gemm.h"

#include <algorithm>
#include <vector>

namespace engine {
namespace {

// Micro-tile of C kept in registers, and the cache blocks (floats): a KC x NR sliver of B stays in
// L1, the MC x KC block of A in L2, the KC x NC panel of B in L2/L3.
// 4 x 8 keeps the accumulators in registers with plain SSE2 code generation (the default x86-64
// target); wider tiles spill and run several times slower.
constexpr int64_t kMR = 4;
constexpr int64_t kNR = 8;
constexpr int64_t kKC = 256;
constexpr int64_t kMC = 128 / kMR * kMR;
constexpr int64_t kNC = 512 / kNR * kNR;
static_assert(kMC % kMR == 0 && kNC % kNR == 0);

// A[ic.., pc..] (mc x kc) into slivers of kMR rows: sliver s holds, for each p, rows s*kMR.. (zero
// padded past mc).
void pack_a(int64_t mc, int64_t kc, const float* a, int64_t lda, float* ap) {
    for (int64_t i0 = 0; i0 < mc; i0 += kMR) {
        const int64_t rows = std::min(kMR, mc - i0);
        for (int64_t p = 0; p < kc; ++p) {
            for (int64_t i = 0; i < rows; ++i) ap[i] = a[(i0 + i) * lda + p];
            for (int64_t i = rows; i < kMR; ++i) ap[i] = 0.f;
            ap += kMR;
        }
    }
}

// B[pc.., jc..] (kc x nc) into slivers of kNR columns (zero padded past nc).
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t ldb, float* bp) {
    for (int64_t j0 = 0; j0 < nc; j0 += kNR) {
        const int64_t cols = std::min(kNR, nc - j0);
        for (int64_t p = 0; p < kc; ++p) {
            const float* src = b + p * ldb + j0;
            if (cols == kNR) {
                for (int64_t j = 0; j < kNR; ++j) bp[j] = src[j];
            } else {
                for (int64_t j = 0; j < cols; ++j) bp[j] = src[j];
                for (int64_t j = cols; j < kNR; ++j) bp[j] = 0.f;
            }
            bp += kNR;
        }
    }
}

// acc = Ap_sliver * Bp_sliver over kc; then C (mr x nr valid part) = or += acc.
void micro_kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t mr, int64_t nr,
                  bool accumulate) {
    float acc[kMR][kNR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        const float* a = ap + p * kMR;
        const float* b = bp + p * kNR;
        for (int64_t i = 0; i < kMR; ++i)
            for (int64_t j = 0; j < kNR; ++j) acc[i][j] += a[i] * b[j];
    }
    if (mr == kMR && nr == kNR) {
        for (int64_t i = 0; i < kMR; ++i) {
            float* crow = c + i * ldc;
            if (accumulate)
                for (int64_t j = 0; j < kNR; ++j) crow[j] += acc[i][j];
            else
                for (int64_t j = 0; j < kNR; ++j) crow[j] = acc[i][j];
        }
        return;
    }
    for (int64_t i = 0; i < mr; ++i) {
        float* crow = c + i * ldc;
        for (int64_t j = 0; j < nr; ++j) crow[j] = accumulate ? crow[j] + acc[i][j] : acc[i][j];
    }
}

}  // namespace

size_t ref_gemm_pack_floats() { return static_cast<size_t>(kMC * kKC + kKC * kNC); }

void ref_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
              float* c, int64_t ldc, float* pack) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.f);
        return;
    }
    std::vector<float> own;
    if (!pack) {
        own.resize(ref_gemm_pack_floats());
        pack = own.data();
    }
    float* ap = pack;
    float* bp = pack + kMC * kKC;
    for (int64_t jc = 0; jc < n; jc += kNC) {
        const int64_t nc = std::min(kNC, n - jc);
        for (int64_t pc = 0; pc < k; pc += kKC) {
            const int64_t kc = std::min(kKC, k - pc);
            pack_b(kc, nc, b + pc * ldb + jc, ldb, bp);
            for (int64_t ic = 0; ic < m; ic += kMC) {
                const int64_t mc = std::min(kMC, m - ic);
                pack_a(mc, kc, a + ic * lda + pc, lda, ap);
                for (int64_t jr = 0; jr < nc; jr += kNR) {
                    const float* bs = bp + (jr / kNR) * kc * kNR;
                    for (int64_t ir = 0; ir < mc; ir += kMR) {
                        micro_kernel(kc, ap + (ir / kMR) * kc * kMR, bs, c + (ic + ir) * ldc + jc + jr, ldc,
                                     std::min(kMR, mc - ir), std::min(kNR, nc - jr), pc > 0);
                    }
                }
            }
        }
    }
}

}  // namespace engine
