{
  "targets": [
    {
      "target_name": "hbd",
      "sources": [
        "native/actions_js.cc",
        "native/addon.cc",
        "native/addr.cc",
        "native/announce.cc",
        "native/auth.cc",
        "native/auth_fail_summary.cc",
        "native/base64.cc",
        "native/codec.cc",
        "native/codec_decode.cc",
        "native/codec_encode.cc",
        "native/convert.cc",
        "native/garp.cc",
        "native/packed.cc",
        "native/js_values.cc",
        "native/liveness.cc",
        "native/liveness_js.cc",
        "native/control.cc",
        "native/engine.cc",
        "native/engine_js.cc",
        "native/engine_outbox.cc",
        "native/engine_plan.cc",
        "native/engine_receive.cc",
        "native/engine_sentinel.cc",
        "native/media.cc",
        "native/ndisc.cc",
        "native/netlink.cc",
        "native/ping.cc",
        "native/plan.cc",
        "native/preauth.cc",
        "native/realtime.cc",
        "native/sd_notify.cc",
        "native/status_filter.cc",
        "native/thread_stats.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=gnu++17", "-Wall", "-Wextra", "-fexceptions", "-frtti"],
      "libraries": ["-lpthread"]
    }
  ]
}
