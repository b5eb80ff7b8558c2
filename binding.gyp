{
  "targets": [
    {
      "target_name": "siglip",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/arguments.cc",
        "native/addon/backend_cpu.cc",
        "native/core/backend_info.cc",
        "native/core/engine_pool.cc",
        "native/core/sigmoid_epilogue.cc",
        "native/core/siglip.cc",
        "native/core/softmax.cc",
        "native/core/tile_engine_bf16.cc",
        "native/core/tile_engine_fp32.cc",
        "native/core/tile_kernels.cc",
        "native/core/tile_kernels_avx2.cc",
        "native/core/tile_kernels_avx512.cc",
        "native/core/tile_kernels_neon.cc",
        "native/core/tile_kernels_portable.cc",
        "native/core/tile_kernel_bf16_native.cc",
        "native/core/worker_pool.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp-simd", "-fexceptions", "-Wno-psabi"]
    }
  ]
}
