//! One scenario per workflow of the catalogue, through HTTP with the tokens of the agencies
//! of one seed province: the main path, an alternative path, and refusals.
