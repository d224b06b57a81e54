{
  "targets": [
    {
      "target_name": "nodeleak",
      "sources": ["src-native/binding.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["src-native/linux.c", "src-native/jemalloc.c"],
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='freebsd'", {
          "sources": ["src-native/freebsd.c", "src-native/jemalloc.c"]
        }],
        ["OS=='netbsd'", {
          "sources": ["src-native/netbsd.c", "src-native/jemalloc.c"]
        }],
        ["OS=='mac'", {
          "sources": ["src-native/darwin.c"],
          "xcode_settings": {
            "MACOSX_DEPLOYMENT_TARGET": "10.15",
            "OTHER_CFLAGS": ["-mmacosx-version-min=10.15"],
            "OTHER_CPLUSPLUSFLAGS": ["-mmacosx-version-min=10.15"],
            "OTHER_LDFLAGS": ["-mmacosx-version-min=10.15"]
          }
        }],
        ["OS=='win'", {
          "sources": ["src-native/win32.c"],
          "libraries": ["psapi.lib"]
        }],
        ["OS!='linux' and OS!='freebsd' and OS!='netbsd' and OS!='mac' and OS!='win'", {
          "sources": ["src-native/unsupported.c"]
        }]
      ]
    }
  ]
}
