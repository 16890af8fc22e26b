import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { packagePath } from "../package-root.js";

/**
 * SVG -> PNG with @resvg/resvg-js (Rust resvg, prebuilt per platform inside npm packages: no
 * browser, no GPU, no system libraries). Text needs a font file: a well-known sans font is
 * looked up first (fast); otherwise system fonts are scanned. With no font at all the PNG is
 * still valid, just without text.
 */

interface RenderedImage {
  asPng(): Buffer;
  width: number;
  height: number;
}

interface ResvgModule {
  Resvg: new (svg: string | Buffer, options?: Record<string, unknown>) => { render(): RenderedImage };
  renderAsync?: (svg: string | Buffer, options?: Record<string, unknown>) => Promise<RenderedImage>;
}

const FONT_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
  "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
  "/usr/share/fonts/noto/NotoSans-Regular.ttf",
  "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
  "/System/Library/Fonts/Supplemental/Arial.ttf",
  "/Library/Fonts/Arial.ttf",
  "C:\\Windows\\Fonts\\arial.ttf",
];
const BOLD_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
  "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
  "C:\\Windows\\Fonts\\arialbd.ttf",
];

/** A regular (and bold, when beside it) sans font found at a well-known path, or []. */
export function findFontFiles(): string[] {
  const regular = FONT_CANDIDATES.find((p) => existsSync(p));
  if (!regular) return [];
  const bold = BOLD_CANDIDATES.find((p) => existsSync(p));
  return bold ? [regular, bold] : [regular];
}

let cached: ResvgModule | null = null;

function loadResvg(): ResvgModule {
  if (!cached) cached = createRequire(packagePath("package.json"))("@resvg/resvg-js") as ResvgModule;
  return cached;
}

/**
 * Loads the renderer now (a native module: tens of milliseconds on this process's one thread), so
 * that the PNG rendered when a session ends does not wait for it. A renderer that cannot load is
 * reported by the render itself.
 */
export function preloadPngRenderer(): void {
  try {
    loadResvg();
  } catch {}
}

export interface PngOptions {
  /** Scale factor over the SVG's size (default 1.5 for a crisp image). */
  zoom?: number;
  /** Font files to use; default: findFontFiles(), else the system fonts. [] = no fonts at all. */
  fontFiles?: string[];
}

function renderOptions(options: PngOptions): Record<string, unknown> {
  const files = options.fontFiles ?? findFontFiles();
  const font = options.fontFiles !== undefined || files.length > 0 ? { loadSystemFonts: false, fontFiles: files } : { loadSystemFonts: true };
  return { font, fitTo: { mode: "zoom", value: options.zoom ?? 1.5 }, background: "#ffffff", logLevel: "off" };
}

export function renderPng(svg: string, options: PngOptions = {}): Buffer {
  const { Resvg } = loadResvg();
  return new Resvg(svg, renderOptions(options)).render().asPng();
}

/** The same, rendered on a worker thread of the native module, so other work can go on meanwhile. */
export async function renderPngAsync(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const resvg = loadResvg();
  if (!resvg.renderAsync) return renderPng(svg, options);
  return (await resvg.renderAsync(svg, renderOptions(options))).asPng();
}

/** Width and height from a PNG's IHDR chunk (null when it is not a PNG). */
export function pngSize(png: Buffer): { width: number; height: number } | null {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(signature) || png.toString("latin1", 12, 16) !== "IHDR") return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
