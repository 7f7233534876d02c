/**
 * The part of uPlot (node_modules/uplot, loaded as uPlot.iife.min.js before console.js on the
 * overview page) that the charts use. Written here because the page script is compiled without
 * modules; the full types are node_modules/uplot/dist/uPlot.d.ts.
 */
declare namespace uPlotTypes {
  interface Series {
    label?: string;
    stroke?: string;
    fill?: string;
    width?: number;
    paths?: unknown;
    points?: { show: boolean };
    value?: (self: unknown, v: number | null) => string;
  }
  interface Axis {
    values?: (self: unknown, ticks: number[]) => string[];
    size?: number;
  }
  interface Options {
    width: number;
    height: number;
    series: Series[];
    axes?: Axis[];
    scales?: Record<
      string,
      { time?: boolean; range?: (self: unknown, min: number, max: number) => [number, number] }
    >;
    legend?: { show: boolean };
    cursor?: { drag?: { x: boolean; y: boolean } };
  }
  interface Chart {
    setSize(size: { width: number; height: number }): void;
    destroy(): void;
  }
}

declare const uPlot:
  | ((new (
      opts: uPlotTypes.Options,
      data: Array<Array<number | null>>,
      target: HTMLElement,
    ) => uPlotTypes.Chart) & {
      paths: { bars?: (opts: { size?: [number, number]; align?: number }) => unknown };
    })
  | undefined;
