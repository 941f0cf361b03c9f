import type { DB } from '@pm/db/types/media'
import { jsonRowCodec } from '@pm/service-kit'
import type { Selectable } from 'kysely'

// Every column of media_thumbnails with its type as migrated: revived rows equal what selectAll() returns.
export const thumbnailCodec = jsonRowCodec<Selectable<DB['media_thumbnails']>>({
  id: 'uuid',
  media_file_id: 'uuid',
  size_name: 'text',
  width: 'int4',
  height: 'int4',
  object_key: 'text',
  storage_url: 'text',
  created_at: 'timestamp',
  format: 'text',
  file_size_bytes: 'int8',
})
