// The native codec for tests, or the reason to skip them. With HBD_REQUIRE_NATIVE=1 (CI) a
// missing codec is not a skip: the calling test file fails at load with the reason.
import { loadNative, type NativeBinding } from '../../lib/native';
import { nativeCodec, type Codec } from '../../lib/wire/native-codec';

export type NativeForTests = { readonly codec: Codec; readonly binding: NativeBinding; readonly skip: false } | { readonly codec: null; readonly binding: null; readonly skip: string };

export function nativeForTests(): NativeForTests {
  // Whatever HBD_TRANSPORT says, these tests are about the addon itself.
  const env = { ...process.env, HBD_TRANSPORT: 'auto' };
  let reason: string;
  try {
    const codec = nativeCodec(env);
    const { binding } = loadNative(env);
    if (codec !== null && binding !== null) return { codec, binding, skip: false };
    reason = binding === null ? String(loadNative(env).reason) : 'the loaded addon has no codec: rebuild it with `npx node-gyp rebuild`';
  } catch (e) {
    reason = (e as Error).message;
  }
  if (process.env.HBD_REQUIRE_NATIVE === '1') throw new Error(`HBD_REQUIRE_NATIVE=1 but the native codec is unavailable: ${reason}`);
  return { codec: null, binding: null, skip: `native codec unavailable (${reason}); set HBD_REQUIRE_NATIVE=1 to make this a failure` };
}
