import { build } from 'esbuild'
import { BUNDLE_APPS } from './bundle-apps.mjs'
import { resolve } from 'node:path'
const pkg='/work/wt/bundle/packages/client-browser'
const app = BUNDLE_APPS.find(a=>a.name===process.argv[2])
const r = await build({ stdin:{contents:app.source,resolveDir:pkg,loader:'js'}, bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, metafile: true, logLevel:'silent',
 plugins:[{name:'x',setup(b){b.onResolve({filter:/^@samsa\/shared$/},()=>({path:resolve(pkg,'../shared/src/index.ts'),sideEffects:false}))}}] })
const out = Object.values(r.metafile.outputs)[0]
const rows = Object.entries(out.inputs).map(([k,v])=>[v.bytesInOutput,k]).sort((a,b)=>b[0]-a[0])
console.log(rows.slice(0,+process.argv[3]||45).map(x=>x.join(' ')).join('\n'))
