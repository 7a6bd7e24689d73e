// The C++ codec (native/codec*.cc) behind the same two functions as lib/wire/codec.ts, with
// the same errors: the addon's coded Errors become DecodeError and EncodeError here.
import { loadNative, type NativeBinding } from '../native';
import { DecodeError, EncodeError } from './errors';
import { packKeys, packMessage, unpackDecoded } from './native-pack';
import type { AuthKeys, DecodeErrorCode, DecodeResult, Message, WireFormat } from './types';

/** What both codecs offer; the module lib/wire/codec.ts satisfies it as it is. */
export interface Codec {
  decode(packet: Buffer, keys: AuthKeys | null): DecodeResult;
  encode(message: Message, format: WireFormat, keys: AuthKeys): Buffer;
}

interface NativeCodedError extends Error {
  code?: unknown;
  offset?: unknown;
  path?: unknown;
  detail?: unknown;
}

function fromNative(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const x = e as NativeCodedError;
  if (typeof x.detail !== 'string') return e;
  if (typeof x.code === 'string' && typeof x.offset === 'number') return new DecodeError(x.code as DecodeErrorCode, x.offset, x.detail);
  if (typeof x.path === 'string') return new EncodeError(x.path, x.detail);
  return e;
}

function wrap(b: NativeBinding): Codec {
  // The addon writes each result into this reusable buffer; the caller gets a copy of the
  // used part (pooled by Node for small sizes), which is cheaper than a Buffer from C++.
  let out = Buffer.allocUnsafe(8192);
  const call = (f: () => number): Buffer => {
    let n: number;
    try {
      n = f();
      if (n < 0) {
        out = Buffer.allocUnsafe(-n);
        n = f();
      }
    } catch (e) {
      throw fromNative(e);
    }
    return Buffer.from(out.subarray(0, n));
  };
  return {
    decode(packet: Buffer, keys: AuthKeys | null): DecodeResult {
      if (!Buffer.isBuffer(packet)) throw new TypeError('packet must be a Buffer');
      const packedKeys = packKeys(keys, true);
      return unpackDecoded(call(() => b.decodePacked(packet, packedKeys, out)));
    },
    encode(message: Message, format: WireFormat, keys: AuthKeys): Buffer {
      const packedKeys = packKeys(keys, false)!;
      const packed = packMessage(message, format);
      return call(() => b.encodePacked(packed, format, packedKeys, out));
    },
  };
}

let cached: { binding: NativeBinding; codec: Codec } | null = null;

/**
 * The native codec, or null when the addon is not in use (loadNative() gives the reason) or
 * was built before the codec existed. Throws NativeUnavailableError when the environment
 * demands the addon (HBD_TRANSPORT=native, HBD_REQUIRE_NATIVE=1) and it cannot load.
 */
export function nativeCodec(env: NodeJS.ProcessEnv = process.env): Codec | null {
  const { binding } = loadNative(env);
  if (binding === null || typeof binding.decodePacked !== 'function' || typeof binding.encodePacked !== 'function') return null;
  if (cached?.binding !== binding) cached = { binding, codec: wrap(binding) };
  return cached.codec;
}
