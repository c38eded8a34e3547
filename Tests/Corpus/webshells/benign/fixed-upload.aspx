<%@ Page Language="C#" %>
<script runat="server">
void Save(object s, EventArgs e) {
  if (!up.HasFile) return;
  var name = System.Guid.NewGuid().ToString("N") + ".dat";
  up.PostedFile.SaveAs(System.IO.Path.Combine(Server.MapPath("~/App_Data/uploads"), name));
}
</script>
<form runat="server"><asp:FileUpload id="up" runat="server"/><asp:Button OnClick="Save" runat="server"/></form>
