import csv, numpy as np, collections
rows=list(csv.DictReader(open('results.csv')))
for r in rows:
    r['ssim']=float(r['ssim']) if r['ssim'] else np.nan
    r['value']=float(r['value']); r['conv_ms']=float(r['conv_ms']); r['svg_bytes']=int(r['svg_bytes'])
    r['grp']='grad' if r['kind']=='gradient' else 'flat'
params=list(dict.fromkeys(r['param'] for r in rows))
imgs=list(dict.fromkeys(r['image'] for r in rows))
print('images',len(imgs),collections.Counter(r['kind'] for r in rows if r['param']=='color_precision' and r['value']==6))
def tab(p):
    d=collections.defaultdict(dict)
    for r in rows:
        if r['param']==p: d[r['image']][r['value']]=r
    return d
for p in params:
    d=tab(p); vals=sorted(next(iter(d.values())).keys())
    print(f'\n== {p}')
    for g in ['all','flat','grad']:
        sel=[i for i in d if g=='all' or d[i][vals[0]]['grp']==g]
        med=[np.median([d[i][v]['ssim'] for i in sel]) for v in vals]
        mean=[np.mean([d[i][v]['ssim'] for i in sel]) for v in vals]
        print(f'  {g:4s} n={len(sel):2d} median: '+' '.join(f'{v:g}:{m:.4f}' for v,m in zip(vals,med)))
        print(f'            mean  : '+' '.join(f'{v:g}:{m:.4f}' for v,m in zip(vals,mean)))
        delta=np.array([d[i][vals[-1]]['ssim']-d[i][vals[0]]['ssim'] for i in sel])
        print(f'       max-min: median signed {np.median(delta):+.4f}, median |d| {np.median(abs(delta)):.4f}, mean |d| {np.mean(abs(delta)):.4f}, #up {np.sum(delta>1e-4)} #down {np.sum(delta<-1e-4)} #same {np.sum(abs(delta)<=1e-4)}')
        rng=np.array([max(d[i][v]['ssim'] for v in vals)-min(d[i][v]['ssim'] for v in vals) for i in sel])
        mono_up=sum(all(d[i][a]['ssim']<=d[i][b]['ssim']+1e-4 for a,b in zip(vals,vals[1:])) for i in sel)
        mono_dn=sum(all(d[i][a]['ssim']>=d[i][b]['ssim']-1e-4 for a,b in zip(vals,vals[1:])) for i in sel)
        argbest=collections.Counter(vals[int(np.argmax([d[i][v]['ssim'] for v in vals]))] for i in sel)
        print(f'       median range(max-min over values) {np.median(rng):.4f}, max range {rng.max():.4f}; monotone up {mono_up}, monotone down {mono_dn}; best value counts {dict(sorted(argbest.items()))}')
    print('  svg_bytes median: '+' '.join(f'{v:g}:{np.median([d[i][v]["svg_bytes"] for i in d]):.0f}' for v in vals))
    print('  n_paths median  : '+' '.join(f'{v:g}:{np.median([int(d[i][v]["n_paths"]) for i in d]):.0f}' for v in vals))
    print('  conv_ms median/max: '+' '.join(f'{v:g}:{np.median([d[i][v]["conv_ms"] for i in d]):.1f}/{max(d[i][v]["conv_ms"] for i in d):.0f}' for v in vals))
    print('  min ssim        : '+' '.join(f'{v:g}:{min(d[i][v]["ssim"] for i in d):.3f}' for v in vals))
    print('  min n_paths/colors/render_colors: '+' '.join(f'{v:g}:{min(int(d[i][v]["n_paths"]) for i in d)}/{min(int(d[i][v]["n_colors"]) for i in d)}/{min(int(d[i][v]["render_unique_colors"]) for i in d)}' for v in vals))
print('\nstatus',collections.Counter(r['status'] for r in rows))
dm=[r['conv_ms'] for r in rows if r['param']=='color_precision' and r['value']==6]
print('default conv ms median %.1f p90 %.1f max %.1f'%(np.median(dm),np.percentile(dm,90),max(dm)))
print('all conv ms median %.1f max %.1f'%(np.median([r['conv_ms'] for r in rows]),max(r['conv_ms'] for r in rows)))
print('default ssim by kind:',{k:round(float(np.median([r['ssim'] for r in rows if r['param']=='color_precision' and r['value']==6 and r['kind']==k])),4) for k in ['gradient','flat','mono','synthetic']})
