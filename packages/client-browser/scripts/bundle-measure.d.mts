/** Types of bundle-measure.mjs, for the budget test. */
export interface BundleApp {
  readonly name: string
  readonly imports: string
  readonly source: string
}
export interface MeasuredApp {
  readonly name: string
  readonly imports: string
  readonly bytes: number
  readonly gzipBytes: number
}
export function measureBundleApps(apps?: readonly BundleApp[]): Promise<MeasuredApp[]>
