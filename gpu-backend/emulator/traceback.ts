/**
 * Python-style traceback frames for emulated exceptions.
 *
 * ComfyUI reports `traceback.format_tb(tb)` in `execution_error.traceback` and in validation
 * exceptions. Clients should only log these, but their shape (a list of
 * `'  File "...", line N, in fn\n    code\n'` strings, outermost first) is kept, with the line
 * numbers of the pinned ComfyUI commit for the frames that live in ComfyUI itself.
 */

export const COMFY_ROOT = "/ComfyUI";

import type { PyFrame } from "./py/values.ts";

export type Frame = PyFrame;

export function formatFrames(frames: readonly Frame[]): string[] {
  return frames.map((f) => `  File "${COMFY_ROOT}/${f.file}", line ${f.line}, in ${f.fn}\n${f.code === undefined ? "" : `    ${f.code}\n`}`);
}

/** The frames between the executor and a node's FUNCTION (execution.py @ 0.3.64). */
export function nodeCallFrames(hasInputs: boolean): Frame[] {
  return [
    {
      file: "execution.py",
      line: 496,
      fn: "execute",
      code: "output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)",
    },
    {
      file: "execution.py",
      line: 315,
      fn: "get_output_data",
      code: "return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)",
    },
    hasInputs
      ? { file: "execution.py", line: 289, fn: "_async_map_node_over_list", code: "await process_inputs(input_dict, i)" }
      : { file: "execution.py", line: 285, fn: "_async_map_node_over_list", code: "await process_inputs({})" },
    { file: "execution.py", line: 277, fn: "process_inputs", code: "result = f(**inputs)" },
  ];
}

export const VALIDATE_PROMPT_FRAME: Frame = {
  file: "execution.py",
  line: 1010,
  fn: "validate_prompt",
  code: "m = await validate_inputs(prompt_id, prompt, o, validated)",
};

export const VALIDATE_INNER_FRAME: Frame = {
  file: "execution.py",
  line: 808,
  fn: "validate_inputs",
  code: "r = await validate_inputs(prompt_id, prompt, o_id, validated)",
};

export const VALIDATE_LINK_FRAME: Frame = {
  file: "execution.py",
  line: 788,
  fn: "validate_inputs",
  code: "o_class_type = prompt[o_id]['class_type']",
};

export const VALIDATE_SLOT_FRAME: Frame = {
  file: "execution.py",
  line: 790,
  fn: "validate_inputs",
  code: "received_type = r[val[1]]",
};

export const VALIDATE_INPUTS_KEY_FRAME: Frame = {
  file: "execution.py",
  line: 730,
  fn: "validate_inputs",
  code: "inputs = prompt[unique_id]['inputs']",
};

export const VALIDATE_CUSTOM_FRAME: Frame = {
  file: "execution.py",
  line: 932,
  fn: "validate_inputs",
  code: "ret = await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, hidden_inputs=hidden_inputs)",
};
