-- bench: a script with an empty event hook (the cost of the Lua layer).
function event(ev) end
