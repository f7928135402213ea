/** The web app's entry: the page the server names in <body data-page>, drawn from its embedded view. */
import type { FeatureView, HomeView, LayerView, RunView } from '../src/server/types.ts';
import { embeddedView } from './api.ts';
import { featurePage } from './pages/feature.ts';
import { homePage } from './pages/home.ts';
import { layerPage } from './pages/layer.ts';
import { runPage } from './pages/run.ts';

const PAGES: Record<string, (view: never) => void> = {
  home: (view: HomeView) => homePage(view),
  layer: (view: LayerView) => layerPage(view),
  feature: (view: FeatureView) => featurePage(view),
  run: (view: RunView) => runPage(view),
};

const page = PAGES[document.body.dataset.page ?? ''];
if (page) page(embeddedView<never>());
