--[[
A stand-in of the Fusion Fuse environment, as strict as the real one where the sources say how it
behaves. Pixels and EXR files live on the Python side (table `FS_HOST`, see fuse_standin.py); the
rest is here. Sources (keys as in the team's resolve-standin notes):

  [FSDK]  Fusion Fuse SDK (Fusion 18)        [VFXP] VFXPedia Fuse/Image/Input pages
  [REMBG] Akascape/Rembg-Fuse                [PUTF] Reactor PutFrame.fuse v1.1
  [DOCS]  EmberLightVFX/Fusion-Script-Docs (Image.md, Clip.md)
--]]

local host = FS_HOST

-- ----------------------------------------------------------------------------- class registration

CT_Tool, CT_SourceTool, CT_Modifier, CT_ViewLUTPlugin = 1, 2, 3, 4

FS_REGISTERED = nil

-- REGS_Category is required; the rest are optional [FSDK part484; VFXP Creating Fuses].
function FuRegisterClass(name, class_type, attrs)
	if type(name) ~= "string" or name == "" then
		error("FuRegisterClass: a name is required", 2)
	end
	if class_type ~= CT_Tool and class_type ~= CT_SourceTool and class_type ~= CT_Modifier
		and class_type ~= CT_ViewLUTPlugin then
		error("FuRegisterClass: unknown class type", 2)
	end
	if type(attrs) ~= "table" or type(attrs.REGS_Category) ~= "string" then
		error("FuRegisterClass: REGS_Category is required", 2)
	end
	FS_REGISTERED = { name = name, class_type = class_type, attrs = attrs }
end

-- ------------------------------------------------------------------------------------------ pixels

-- Pixel channels are floats, 0..1 nominal, out of range allowed [VFXP GetPixel].
function Pixel(init)
	local p = { R = 0.0, G = 0.0, B = 0.0, A = 0.0 }
	if type(init) == "table" then
		for _, k in ipairs({ "R", "G", "B", "A" }) do
			if init[k] ~= nil then
				p[k] = init[k]
			end
		end
	end
	return p
end

local ImageMethods = {}
local ImageMT = {}

local function wrap_image(id)
	return setmetatable({ _id = id }, ImageMT)
end

ImageMT.__index = function(img, key)
	if ImageMethods[key] then
		return ImageMethods[key]
	end
	local id = rawget(img, "_id")
	if key == "Width" or key == "Height" or key == "Depth" or key == "XScale" or key == "YScale"
		or key == "ProxyScale" or key == "OriginalWidth" or key == "OriginalHeight" then
		return host.attribute(id, key)
	end
	if key == "DataWindow" or key == "ValidWindow" then
		-- { <left>, <bottom>, <right>, <top> } [DOCS Image.md]; right/top exclusive.
		local l, b, r, t = host.data_window(id)
		return { l, b, r, t }
	end
	return nil
end

ImageMT.__newindex = function(_, key)
	error("Image." .. tostring(key) .. " is read-only", 2)
end

-- Image({IMG_Like = img, IMG_Depth = d, IMG_NoData = b}) or a full attribute table [VFXP Image
-- Constructor; FSDK part60; PUTF].
function Image(attrs)
	if type(attrs) ~= "table" then
		error("Image: expected an attribute table", 2)
	end
	local like = attrs.IMG_Like
	local id
	if like ~= nil then
		if getmetatable(like) ~= ImageMT then
			error("Image: IMG_Like must be an Image", 2)
		end
		id = host.new_like(rawget(like, "_id"), attrs.IMG_Depth or 0, attrs.IMG_NoData == true)
	else
		if not attrs.IMG_Width or not attrs.IMG_Height then
			error("Image: IMG_Width and IMG_Height are required without IMG_Like", 2)
		end
		id = host.new_image(attrs.IMG_Width, attrs.IMG_Height, attrs.IMG_Depth or 8, attrs.IMG_NoData == true)
	end
	return wrap_image(id)
end

-- Coordinates must lie inside the image; writes outside the data window "may crash Fusion"
-- [VFXP GetPixel; VFXP EyeonTips Image]: both are errors here.
function ImageMethods.GetPixel(img, x, y, p)
	if type(p) ~= "table" then
		error("GetPixel: a Pixel is required", 2)
	end
	local r, g, b, a = host.get_pixel(rawget(img, "_id"), x, y)
	p.R, p.G, p.B, p.A = r, g, b, a
	return p
end

function ImageMethods.SetPixel(img, x, y, p)
	host.set_pixel(rawget(img, "_id"), x, y, p.R or 0, p.G or 0, p.B or 0, p.A or 0)
end

function ImageMethods.Fill(img, p)
	host.fill(rawget(img, "_id"), p.R or 0, p.G or 0, p.B or 0, p.A or 0)
end

-- Copy into dst at an offset (no offset: a copy, also for images with no data) [PUTF].
function ImageMethods.Crop(img, dst, tags)
	if getmetatable(dst) ~= ImageMT then
		error("Crop: the destination must be an Image", 2)
	end
	tags = tags or {}
	host.crop(rawget(img, "_id"), rawget(dst, "_id"), tags.CROP_XOffset or 0, tags.CROP_YOffset or 0)
end

function ImageMethods.CopyOf(img)
	local out = Image({ IMG_Like = img })
	img:Crop(out, {})
	return out
end

-- --------------------------------------------------------------------------------------- file I/O

-- Clip(path, true) writes, Clip(path[, false]) reads; Open/PutFrame/GetFrame/Close; the format
-- comes from the extension [REMBG; PUTF; DOCS Clip.md].
local ClipMethods = {}
local ClipMT = { __index = ClipMethods }

function Clip(path, save)
	return setmetatable({ path = path, save = save == true, open = false }, ClipMT)
end

function ClipMethods.Open(clip)
	clip.open = true
	return true
end

function ClipMethods.Close(clip)
	clip.open = false
end

function ClipMethods.PutFrame(clip, frame, img)
	if not clip.open or not clip.save then
		return false
	end
	if getmetatable(img) ~= ImageMT then
		error("PutFrame: an Image is required", 2)
	end
	return host.write_exr(clip.path, rawget(img, "_id"), frame)
end

function ClipMethods.GetFrame(clip, frame)
	if not clip.open or clip.save then
		return nil
	end
	local id = host.read_exr(clip.path)
	if id == nil then
		return nil
	end
	return wrap_image(id)
end

-- ------------------------------------------------------------------------------------------- misc

function Text(s)
	return { Value = tostring(s) }
end

bmd = {
	fileexists = function(path) return host.exists(path) end,
	direxists = function(path) return host.isdir(path) end,
	createdir = function(path) return host.makedirs(path) end,
}

FS_CONSOLE = {}
function print(...)
	local parts = {}
	for i = 1, select("#", ...) do
		parts[#parts + 1] = tostring((select(i, ...)))
	end
	FS_CONSOLE[#FS_CONSOLE + 1] = table.concat(parts, "\t")
end

-- --------------------------------------------------------------------------------------- the tool

local CONTROLS = {
	SliderControl = true, ScrewControl = true, CheckboxControl = true, ComboControl = true,
	ComboIDControl = true, ButtonControl = true, ColorControl = true, FileControl = true,
	LabelControl = true, MultiButtonControl = true, RangeControl = true, OffsetControl = true,
	TextEditControl = true,
}
local DATA_TYPES = { Image = true, Number = true, Point = true, Text = true, FuID = true }

local InputMethods = {}
local InputMT = { __index = InputMethods }

-- scriptName: letters, digits and _, no leading digit [FSDK part27].
local function check_script_name(name)
	if type(name) ~= "string" or not name:match("^[A-Za-z_][A-Za-z0-9_]*$") then
		error("AddInput: bad script name " .. tostring(name), 3)
	end
end

local function number_value(input, v)
	local a = input.attrs
	v = tonumber(v) or 0
	if a.INP_Integer then
		v = math.floor(v + 0.5)
	end
	-- MinAllowed/MaxAllowed clamp; MinScale/MaxScale are the slider's span only [FSDK part125].
	if a.INP_MinAllowed and v < a.INP_MinAllowed then
		v = a.INP_MinAllowed
	end
	if a.INP_MaxAllowed and v > a.INP_MaxAllowed then
		v = a.INP_MaxAllowed
	end
	if input.items then
		-- ComboControl: a 0-based index of the CCS_AddString items [FSDK part134].
		v = math.max(0, math.min(#input.items - 1, v))
	end
	return v
end

function FS_MakeTool(name, comp_name, temp_dir)
	local tool = {
		Name = name,
		inputs = {},
		order = {},
		outputs = {},
		data = {},
	}
	tool.Comp = {
		MapPath = function(_, path)
			local rest = path:match("^[Tt]emp:[/\\]?(.*)$")
			if rest then
				return temp_dir .. "/" .. rest
			end
			return path
		end,
		GetAttrs = function(_) return { COMPS_Name = comp_name } end,
	}
	function tool.AddInput(t, label, script_name, attrs)
		check_script_name(script_name)
		if t.inputs[script_name] then
			error("AddInput: duplicate input " .. script_name, 2)
		end
		attrs = attrs or {}
		if not DATA_TYPES[attrs.LINKID_DataType] then
			error("AddInput " .. script_name .. ": LINKID_DataType is required", 2)
		end
		if attrs.INPID_InputControl and not CONTROLS[attrs.INPID_InputControl] then
			error("AddInput " .. script_name .. ": unknown control " .. attrs.INPID_InputControl, 2)
		end
		local input = setmetatable({ label = label, id = script_name, attrs = attrs, tool = t }, InputMT)
		if attrs.INPID_InputControl == "ComboControl" then
			input.items = {}
			for _, entry in ipairs(attrs) do
				if type(entry) == "table" and entry.CCS_AddString then
					input.items[#input.items + 1] = entry.CCS_AddString
				end
			end
			if #input.items == 0 then
				error("AddInput " .. script_name .. ": a ComboControl needs CCS_AddString items", 2)
			end
		end
		if attrs.LINKID_DataType == "Number" then
			input.value = number_value(input, attrs.INP_Default or 0)
		elseif attrs.LINKID_DataType == "Text" then
			input.value = attrs.INPS_DefaultText or ""
		end
		t.inputs[script_name] = input
		t.order[#t.order + 1] = script_name
		return input
	end
	function tool.AddOutput(t, label, script_name, attrs)
		check_script_name(script_name)
		local out = { id = script_name, attrs = attrs or {}, tool = t }
		function out.Set(o, req, img)
			if req ~= FS_CURRENT_REQUEST then
				error("Output:Set: not the request being processed", 2)
			end
			if getmetatable(img) ~= ImageMT then
				error("Output:Set: an Image is required", 2)
			end
			o.sets = (o.sets or 0) + 1
			o.image = img
		end
		t.outputs[script_name] = out
		return out
	end
	function tool.GetData(t, key)
		return t.data[key]
	end
	function tool.SetData(t, key, value)
		t.data[key] = value
	end
	return tool
end

-- A Parameter per GetValue: .Value for Number/Text [FSDK part35]; an Image for image inputs.
function InputMethods.GetValue(input, req)
	if req ~= FS_CURRENT_REQUEST then
		error("GetValue: not the request being processed", 2)
	end
	local kind = input.attrs.LINKID_DataType
	if kind == "Image" then
		return input.image
	end
	local value = input.value
	if input.keys then
		value = input.keys[req.Time]
		if value == nil then
			error("stand-in: no key for " .. input.id .. " at time " .. tostring(req.Time))
		end
		if kind == "Number" then
			value = number_value(input, value)
		end
	end
	return { Value = value }
end

function InputMethods.SetSource(input, param, time, flags)
	if type(param) ~= "table" or param.Value == nil then
		error("SetSource: a Parameter (e.g. Text(...)) is required", 2)
	end
	input.source_value = param.Value
end

function InputMethods.SetAttrs(input, attrs)
	for k, v in pairs(attrs) do
		input.attrs[k] = v
	end
end

-- ------------------------------------------------------------------------------------- requests

local RequestMT = { __index = {} }
function RequestMT.__index.IsPreCalc(r) return r.precalc end
function RequestMT.__index.IsQuick(r) return false end
function RequestMT.__index.IsStampOnly(r) return false end
function RequestMT.__index.IsNoMotionBlur(r) return true end

function FS_MakeRequest(time, precalc)
	return setmetatable({ Time = time, precalc = precalc == true }, RequestMT)
end

function FS_SetNumber(input, value)
	input.value = number_value(input, value)
end

function FS_IsImage(v)
	return getmetatable(v) == ImageMT
end

function FS_ImageId(img)
	return rawget(img, "_id")
end

function FS_WrapImage(id)
	return wrap_image(id)
end
