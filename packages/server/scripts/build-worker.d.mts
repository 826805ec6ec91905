export declare const WORKER_ENTRY: string
export declare const COMPATIBILITY_DATE: string
export declare function buildWorker(outDir?: string): Promise<{ outfile: string; external: string[] }>
