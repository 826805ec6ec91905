export declare const WORKER_ENTRY: string
export declare const COMPATIBILITY_DATE: string
export declare function buildWorker(opts?: { outDir?: string; entry?: string; alias?: Record<string, string> }): Promise<{ outfile: string; external: string[]; inputs: string[] }>
