/** Base class of every error nodeleak throws on purpose. */
export class NodeleakError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A call was made with arguments nodeleak does not accept. */
export class InvalidArgumentError extends NodeleakError {
  constructor(message: string) {
    super('NODELEAK_INVALID_ARGUMENT', message);
  }
}

/** This platform or allocator has no way to answer the call. */
export class UnsupportedPlatformError extends NodeleakError {
  readonly platform: string;
  readonly supported: string;

  constructor(platform: string, reason: string, supported: string) {
    super('NODELEAK_UNSUPPORTED', `nodeleak cannot probe the C heap on ${platform}: ${reason}. Supported: ${supported}.`);
    this.platform = platform;
    this.supported = supported;
  }
}

/** The native probe could not be loaded: no prebuilt binary matches and none was built. */
export class BindingLoadError extends NodeleakError {
  readonly platform: string;

  constructor(platform: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(
      'NODELEAK_NO_BINDING',
      `nodeleak has no native probe for ${platform} (${detail}). ` +
        'To build it from source, install a C/C++ toolchain and python3, then run ' +
        '`npm rebuild nodeleak --build-from-source` (or `npx node-gyp rebuild` inside node_modules/nodeleak).',
      { cause },
    );
    this.platform = platform;
  }
}
