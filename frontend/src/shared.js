// The shared page's entry point (/s/<token>): global styles, the saved theme, <shared-page>.
import './styles/global.css';
import { applyTheme, loadTheme } from './lib/preferences.js';
import './components/shared-page.js';

applyTheme(loadTheme());
