{
  'targets': [
    {
      'target_name': 'bt_native',
      'sources': ['bt-native.c'],
      'cflags': ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      'defines': ['NAPI_VERSION=8'],
    },
  ],
}
