/** @module A metadata log for tests: commits each proposal as one batch, through the codec, onto an image. */
import { applyBatch, EMPTY_METADATA_IMAGE, type MetadataImage } from '../metadata-image.js'
import { decodeMetadataBatch, encodeMetadataBatch, type MetadataRecord } from '../metadata-records.js'

export class TestMetadataLog {
  image: MetadataImage = EMPTY_METADATA_IMAGE
  /** Every committed batch, in order, as the bytes a Raft entry would carry. */
  readonly entries: Uint8Array[] = []

  /** Appends the records as the next entry (nothing for an empty proposal) and returns the new image. */
  commit(result: { readonly records: readonly MetadataRecord[] }): MetadataImage {
    if (result.records.length === 0) return this.image
    const bytes = encodeMetadataBatch(result.records)
    this.entries.push(bytes)
    this.image = applyBatch(this.image, decodeMetadataBatch(bytes), this.image.offset + 1)
    return this.image
  }
}
