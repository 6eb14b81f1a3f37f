"""The supervisors' dashboard pages: completion by province, district and unit, charts, exports."""
