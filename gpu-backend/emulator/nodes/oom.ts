/**
 * torch's CUDA out-of-memory error, worded as torch 2.x words it, for the nodes that emulate
 * running out of VRAM. ComfyUI classifies it by type (`torch.OutOfMemoryError`) and appends its
 * "ran out of memory" tips (see executor.ts).
 */
import type { EmulatorConfig } from "../config.ts";
import { PyException } from "../py/values.ts";

export const OOM_EXCEPTION_TYPE = "torch.OutOfMemoryError";

export function cudaOutOfMemory(config: EmulatorConfig, requestBytes: number): PyException {
  const total = config.vramMb * 1024 * 1024;
  const free = Math.min(total, 1.23 * 1024 ** 3);
  const inUse = total - free;
  const reserved = Math.min(inUse, 1.91 * 1024 ** 3);
  const message =
    `CUDA out of memory. Tried to allocate ${formatSize(requestBytes)}. ` +
    `GPU 0 has a total capacity of ${formatSize(total)} of which ${formatSize(free)} is free. ` +
    `Including non-PyTorch memory, this process has ${formatSize(inUse)} memory in use. ` +
    `Of the allocated memory ${formatSize(inUse - reserved)} is allocated by PyTorch, and ` +
    `${formatSize(reserved)} is reserved by PyTorch but unallocated. If reserved but unallocated memory is large ` +
    "try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  " +
    "See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)";
  return new PyException(OOM_EXCEPTION_TYPE, message);
}

/** torch's `format_size`: bytes, KiB, MiB or GiB with two decimals. */
function formatSize(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} bytes`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(2)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(2)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
