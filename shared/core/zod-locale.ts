/**
 * zod/mini (zod 4's tree-shakable API, used by the schemas in shared/) loads no locale, so its
 * issues would all read "Invalid input". This registers the English messages classic `zod`
 * registers by default, so every issue text stays exactly as it was. Import it (for its side
 * effect) from each module that builds zod/mini schemas.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());
