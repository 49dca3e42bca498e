// cuda_util.h: error macros (these run without a GPU), device detection, RAII owners.
#include <gtest/gtest.h>

#include <vector>

#include "engine/backends/cuda/cuda_util.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/error_of.h"

namespace {

using engine::cuda::CudaEvent;
using engine::cuda::CudaStream;
using engine::cuda::DeviceBuffer;
using engine::cuda::PinnedBuffer;
using testing_util::error_of;

TEST(CudaCheck, ThrowsEngineErrorNamingCallFileAndLine) {
    const std::string e = error_of([] { CUDA_CHECK(cudaErrorInvalidValue); });
    EXPECT_NE(e.find("CUDA error 1"), std::string::npos) << e;
    EXPECT_NE(e.find("invalid argument"), std::string::npos) << e;
    EXPECT_NE(e.find("test_cuda_util.cpp:"), std::string::npos) << e;
    EXPECT_NE(e.find("cudaErrorInvalidValue"), std::string::npos) << e;  // the call as written
    EXPECT_EQ(e.find('\n'), std::string::npos) << "not one line: " << e;
    EXPECT_NO_THROW(CUDA_CHECK(cudaSuccess));
}

TEST(CudaCheck, CudnnAndCublasErrorsNameTheLibrary) {
    const std::string d = error_of([] { CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM); });
    EXPECT_NE(d.find("cuDNN error 2000"), std::string::npos) << d;
    EXPECT_NE(d.find("CUDNN_STATUS_BAD_PARAM"), std::string::npos) << d;
    const std::string b = error_of([] { CUBLAS_CHECK(CUBLAS_STATUS_INVALID_VALUE); });
    EXPECT_NE(b.find("cuBLAS error 7"), std::string::npos) << b;
    EXPECT_NO_THROW(CUDNN_CHECK(CUDNN_STATUS_SUCCESS));
}

TEST(CudaDevice, AvailabilityComesWithAReason) {
    std::string why;
    const bool ok = engine::cuda::cuda_device_available(&why);
    if (ok) {
        const auto info = engine::cuda::device_info();
        EXPECT_FALSE(info.name.empty());
        EXPECT_GE(info.cc_major, 5);
        EXPECT_GE(info.cudnn_version, 90000u);
        const std::string sig = engine::cuda::device_signature(info);
        EXPECT_NE(sig.find(info.name), std::string::npos) << sig;
        EXPECT_NE(sig.find("sm_" + std::to_string(info.cc_major) + std::to_string(info.cc_minor)),
                  std::string::npos)
            << sig;
        EXPECT_NE(sig.find("cudnn 9."), std::string::npos) << sig;
        std::cout << "[ info ] " << sig << "\n";
    } else {
        EXPECT_FALSE(why.empty());
        // Without a device the backend refuses to start, with the reason.
        const std::string e = error_of([] { (void)engine::make_cuda_backend(); });
        EXPECT_NE(e.find("cuda"), std::string::npos) << e;
        GTEST_SKIP() << "no CUDA device: " << why;
    }
}

TEST(CudaRaii, BuffersStreamsEventsRoundTrip) {
    SKIP_WITHOUT_CUDA();
    std::vector<float> host(1000);
    for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i) * 0.5f;
    DeviceBuffer a(host.size() * sizeof(float));
    a.upload(host.data(), host.size() * sizeof(float));
    DeviceBuffer b = std::move(a);
    EXPECT_EQ(a.get(), nullptr);
    EXPECT_EQ(b.bytes(), host.size() * sizeof(float));
    PinnedBuffer pinned(b.bytes());
    CudaStream s;
    CudaEvent start, end;
    start.record(s.get());
    CUDA_CHECK(cudaMemcpyAsync(pinned.get(), b.get(), b.bytes(), cudaMemcpyDeviceToHost, s.get()));
    end.record(s.get());
    s.synchronize();
    EXPECT_GE(CudaEvent::elapsed_ms(start, end), 0.f);
    const auto* back = static_cast<const float*>(pinned.get());
    for (size_t i = 0; i < host.size(); ++i) ASSERT_EQ(back[i], host[i]) << i;
    // Out-of-range copies are refused before reaching CUDA.
    EXPECT_NE(error_of([&] { b.upload(host.data(), b.bytes() + 4); }).find("upload"), std::string::npos);
}

}  // namespace
