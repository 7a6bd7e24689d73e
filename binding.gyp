{
  "targets": [
    {
      "target_name": "hbd",
      "sources": [
        "native/addon.cc",
        "native/auth.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=gnu++17", "-Wall", "-Wextra", "-fexceptions", "-frtti"],
      "libraries": ["-lpthread"]
    }
  ]
}
