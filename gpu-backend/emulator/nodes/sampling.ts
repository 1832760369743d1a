/**
 * KSampler and KSamplerAdvanced ("KSampler (Advanced)"), nodes.py: where a prompt spends its time.
 *
 * Faithful: specs (the 42 sampler and 9 scheduler names of comfy/samplers.py, the seed's 2^64 - 1
 * maximum), the number of steps actually run (`len(sigmas) - 1`: `steps` for any denoise in
 * (0, 1], none for denoise 0; KSamplerAdvanced's end_at_step cut and its early return when
 * start_at_step leaves nothing to do), one `progress {value, max}` per step with the interrupt
 * flag checked at each, previews per `--preview-method`, an empty latent taking the model
 * family's channel count. The models (checkpoint, LoRAs, ControlNets) are made resident before
 * the first step; if one was evicted since its loader ran, it is loaded again.
 * Faked: a step takes `--step-ms`; the result is a digest of every input that decides the image,
 * which VAEDecode turns into pixels.
 */
import { averageColour } from "../media/pattern.ts";
import { architectureOf } from "../models/architectures.ts";
import { pyStr } from "../py/values.ts";
import { Conditioning, contentIdentity, digestOf, expectValue, Latent, ModelHandle } from "./model-types.ts";
import { previewFrame, previewSize } from "./previews.ts";
import type { InputSpec, NodeDefinition, NodeRunContext } from "./types.ts";

/** comfy.samplers.KSampler.SAMPLERS (KSAMPLER_NAMES + ddim, uni_pc, uni_pc_bh2). */
export const SAMPLER_NAMES = [
  "euler",
  "euler_cfg_pp",
  "euler_ancestral",
  "euler_ancestral_cfg_pp",
  "heun",
  "heunpp2",
  "dpm_2",
  "dpm_2_ancestral",
  "lms",
  "dpm_fast",
  "dpm_adaptive",
  "dpmpp_2s_ancestral",
  "dpmpp_2s_ancestral_cfg_pp",
  "dpmpp_sde",
  "dpmpp_sde_gpu",
  "dpmpp_2m",
  "dpmpp_2m_cfg_pp",
  "dpmpp_2m_sde",
  "dpmpp_2m_sde_gpu",
  "dpmpp_2m_sde_heun",
  "dpmpp_2m_sde_heun_gpu",
  "dpmpp_3m_sde",
  "dpmpp_3m_sde_gpu",
  "ddpm",
  "lcm",
  "ipndm",
  "ipndm_v",
  "deis",
  "res_multistep",
  "res_multistep_cfg_pp",
  "res_multistep_ancestral",
  "res_multistep_ancestral_cfg_pp",
  "gradient_estimation",
  "gradient_estimation_cfg_pp",
  "er_sde",
  "seeds_2",
  "seeds_3",
  "sa_solver",
  "sa_solver_pece",
  "ddim",
  "uni_pc",
  "uni_pc_bh2",
];

/** comfy.samplers.KSampler.SCHEDULERS, in SCHEDULER_HANDLERS order. */
export const SCHEDULER_NAMES = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic", "kl_optimal"];

/** 0xffffffffffffffff: beyond a double's integers, so a bigint (written digit for digit in JSON). */
const SEED_MAX = 0xffff_ffff_ffff_ffffn;

const tip = (tooltip: string | undefined) => (tooltip === undefined ? {} : { tooltip });

function seedSpec(tooltip?: string): InputSpec {
  return ["INT", { default: 0, min: 0, max: SEED_MAX, control_after_generate: true, ...tip(tooltip) }];
}

function cfgSpec(tooltip?: string): InputSpec {
  return ["FLOAT", { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01, ...tip(tooltip) }];
}

/**
 * Steps the sampler runs: `len(sigmas) - 1` after KSampler.set_steps and KSampler.sample's cuts
 * (every denoise in (0, 1] keeps `steps + 1` sigmas); null when sample() returns the latent
 * as it came (start_at_step at or past the end).
 */
export function samplingSteps(steps: number, denoise: number, startStep?: number, lastStep?: number): number | null {
  let sigmas = denoise <= 0 ? 0 : steps + 1;
  if (lastStep !== undefined && lastStep < sigmas - 1) sigmas = lastStep + 1;
  if (startStep !== undefined) {
    if (startStep < sigmas - 1) sigmas -= startStep;
    else return null;
  }
  return Math.max(0, sigmas - 1);
}

interface SampleRequest {
  model: ModelHandle;
  positive: Conditioning;
  negative: Conditioning;
  latent: Latent;
  /** Steps to run (samplingSteps), or null to hand the latent back untouched. */
  run: number | null;
  /** How much of the result replaces what the latent held (denoise). */
  strength: number;
  /** Everything else that decides the image. */
  settings: Record<string, unknown>;
}

/** `common_ksampler` */
async function commonKSampler(ctx: NodeRunContext, req: SampleRequest): Promise<Latent> {
  const arch = architectureOf(req.model.checkpoint.architecture);
  // fix_empty_latent_channels: an all-zero latent takes the model family's channels.
  const latent = req.latent.content.kind === "empty" ? req.latent.with({ channels: arch.latentChannels }) : req.latent;
  if (req.run === null) return latent;
  const steps = req.run;
  if (steps === 0) return latent;
  await ctx.models.memory.ensure([...req.model.units(), ...req.positive.units(), ...req.negative.units()]);
  const digest = digestOf({
    model: req.model.identity(),
    positive: req.positive.identity(),
    negative: req.negative.identity(),
    latent: [latent.width, latent.height, latent.batch, contentIdentity(latent.content)],
    ...req.settings,
  });
  const result = latent.with({ content: { kind: "sampled", digest, under: latent.content, strength: req.strength } });
  const size = previewSize(ctx, req.model, latent.width, latent.height);
  const from = averageColour(latent.content);
  const to = averageColour(result.content);
  for (let step = 1; step <= steps; step++) {
    await ctx.sleep(ctx.config.stepMs);
    ctx.progress(step, steps, size && previewFrame(size, from, to, step / steps));
  }
  return result;
}

function conditioning(value: unknown): Conditioning {
  return expectValue(value, Conditioning, "copy");
}

export const ksampler: NodeDefinition = {
  classType: "KSampler",
  description: "Uses the provided model, positive and negative conditioning to denoise the latent image.",
  category: "sampling",
  pythonModule: "nodes",
  functionName: "sample",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["LATENT"],
  outputTooltips: ["The denoised latent."],
  inputTypes: () => ({
    required: {
      model: ["MODEL", { tooltip: "The model used for denoising the input latent." }],
      seed: seedSpec("The random seed used for creating the noise."),
      steps: ["INT", { default: 20, min: 1, max: 10000, tooltip: "The number of steps used in the denoising process." }],
      cfg: cfgSpec(
        "The Classifier-Free Guidance scale balances creativity and adherence to the prompt. Higher values result in images more closely matching the prompt however too high values will negatively impact quality.",
      ),
      sampler_name: [SAMPLER_NAMES, { tooltip: "The algorithm used when sampling, this can affect the quality, speed, and style of the generated output." }],
      scheduler: [SCHEDULER_NAMES, { tooltip: "The scheduler controls how noise is gradually removed to form the image." }],
      positive: ["CONDITIONING", { tooltip: "The conditioning describing the attributes you want to include in the image." }],
      negative: ["CONDITIONING", { tooltip: "The conditioning describing the attributes you want to exclude from the image." }],
      latent_image: ["LATENT", { tooltip: "The latent image to denoise." }],
      denoise: [
        "FLOAT",
        {
          default: 1.0,
          min: 0.0,
          max: 1.0,
          step: 0.01,
          tooltip: "The amount of denoising applied, lower values will maintain the structure of the initial image allowing for image to image sampling.",
        },
      ],
    },
  }),
  async run(inputs, ctx) {
    const steps = inputs.steps as number;
    const denoise = (inputs.denoise as number | undefined) ?? 1.0;
    const latent = await commonKSampler(ctx, {
      model: expectValue(inputs.model, ModelHandle, "load_device"),
      positive: conditioning(inputs.positive),
      negative: conditioning(inputs.negative),
      latent: expectValue(inputs.latent_image, Latent, "__getitem__"),
      run: samplingSteps(steps, denoise),
      strength: Math.min(1, Math.max(0, denoise)),
      settings: {
        seed: inputs.seed,
        steps,
        cfg: inputs.cfg,
        sampler: pyStr(inputs.sampler_name),
        scheduler: pyStr(inputs.scheduler),
        denoise,
      },
    });
    return { result: [latent] };
  },
};

export const ksamplerAdvanced: NodeDefinition = {
  classType: "KSamplerAdvanced",
  displayName: "KSampler (Advanced)",
  category: "sampling",
  pythonModule: "nodes",
  functionName: "sample",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["LATENT"],
  inputTypes: () => ({
    required: {
      model: ["MODEL"],
      add_noise: [["enable", "disable"]],
      noise_seed: seedSpec(),
      steps: ["INT", { default: 20, min: 1, max: 10000 }],
      cfg: cfgSpec(),
      sampler_name: [SAMPLER_NAMES],
      scheduler: [SCHEDULER_NAMES],
      positive: ["CONDITIONING"],
      negative: ["CONDITIONING"],
      latent_image: ["LATENT"],
      start_at_step: ["INT", { default: 0, min: 0, max: 10000 }],
      end_at_step: ["INT", { default: 10000, min: 0, max: 10000 }],
      return_with_leftover_noise: [["disable", "enable"]],
    },
  }),
  async run(inputs, ctx) {
    const steps = inputs.steps as number;
    const start = inputs.start_at_step as number;
    const end = inputs.end_at_step as number;
    const latent = await commonKSampler(ctx, {
      model: expectValue(inputs.model, ModelHandle, "load_device"),
      positive: conditioning(inputs.positive),
      negative: conditioning(inputs.negative),
      latent: expectValue(inputs.latent_image, Latent, "__getitem__"),
      run: samplingSteps(steps, 1.0, start, end),
      strength: Math.max(0, Math.min(steps, end) - start) / steps,
      settings: {
        seed: inputs.noise_seed,
        steps,
        cfg: inputs.cfg,
        sampler: pyStr(inputs.sampler_name),
        scheduler: pyStr(inputs.scheduler),
        add_noise: pyStr(inputs.add_noise),
        start,
        end,
        leftover_noise: pyStr(inputs.return_with_leftover_noise),
      },
    });
    return { result: [latent] };
  },
};
