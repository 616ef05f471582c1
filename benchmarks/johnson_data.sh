# Issue 20's Johnson training data, shared by johnson_data_arms.sh and johnson_stage2.sh, so
# that stage 2 trains on exactly arm C's photos. Sourced from benchmarks/ (it sets PY too).
PY="$(cd .. && pwd)/.venv/bin/python"   # not realpath: that resolves the venv
SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
MOTO=$SITE/skimage/data/motorcycle_left.png                  # held out, as Tubingen
HOPPER=$SITE/matplotlib/mpl-data/sample_data/grace_hopper.jpg
PHOTOS=astronaut,chelsea,coffee,rocket,beach_city,columns,golden_gate_fog,rainier,flowers
PAINTINGS=hokusai_great_wave,kandinsky_composition_vii,klimt_the_kiss,matisse_woman_with_a_hat
PAINTINGS=$PAINTINGS,monet_impression_sunrise,monet_san_giorgio_maggiore_dusk
PAINTINGS=$PAINTINGS,monet_water_lilies_1919,munch_the_scream,picabia_udnie,seurat_grande_jatte
PAINTINGS=$PAINTINGS,turner_shipwreck
VARIED=$PHOTOS,$HOPPER,$PAINTINGS                             # arms B and C, stage 2
